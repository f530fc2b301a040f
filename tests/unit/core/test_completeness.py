"""A fetch is complete only when it provably saw the whole catalog."""

from medusa_sync.core.completeness import FetchAudit


def read(audit, *pages):
    for skip, limit, count, total in pages:
        audit.page(skip=skip, limit=limit, count=count, total=total)
    return audit


def test_full_pages_up_to_the_total_are_complete():
    audit = read(FetchAudit(), (0, 100, 100, 194), (100, 100, 94, 194))
    assert audit.finish() == []


def test_empty_pages_before_the_total_make_it_partial():
    audit = read(FetchAudit(), (0, 100, 100, 194), (100, 100, 0, 194))
    assert audit.finish() == [
        "page at skip=100 came back empty before the total of 194",
        "read 100 records but the source's total is 194",
    ]


def test_a_short_page_before_the_total_makes_it_partial():
    audit = read(FetchAudit(), (0, 100, 100, 194), (100, 100, 60, 194))
    assert "page at skip=100 came back with 60 of 100 records before the total of 194" in audit.finish()


def test_a_repeated_id_makes_it_partial_even_when_the_count_adds_up():
    audit = read(FetchAudit(), (0, 100, 100, 194), (100, 100, 94, 194))
    assert audit.finish(repeated_ids=[100]) == [
        "1 id(s) came more than once (100): the catalog moved under the paging"
    ]


def test_a_changed_total_makes_it_partial():
    audit = read(FetchAudit(), (0, 2, 2, 4), (2, 2, 2, 5), (4, 2, 1, 5))
    assert audit.finish() == [
        "total changed from 4 to 5 at skip=2",
        "read 5 records but the source's total is 4",
    ]


def test_a_failed_page_makes_it_partial():
    audit = FetchAudit()
    audit.page(skip=0, limit=2, count=2, total=4)
    audit.page(skip=2, limit=2, count=0, total=None, error="the body is not valid JSON")
    assert audit.finish()[0] == "page at skip=2 (up to 2 records) failed: the body is not valid JSON"


def test_a_source_without_total_cannot_prove_anything():
    audit = read(FetchAudit(), (0, 100, 40, None))
    assert audit.finish() == ["the source did not say how many products it has (no 'total')"]


def test_max_products_is_always_partial():
    audit = read(FetchAudit(max_products=20), (0, 20, 20, 194))
    assert audit.finish() == ["max_products is set (20): only part of the catalog was read"]
