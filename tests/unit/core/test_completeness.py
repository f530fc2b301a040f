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


# -- feeds without a total: numbered pages (until an empty page) and next links ------------------


def numbered(audit, *counts, limit=100):
    for number, count in enumerate(counts, start=1):
        audit.numbered_page(number=number, limit=limit, count=count)
    return audit


def linked(audit, *pages, limit=100):
    for number, (count, has_next) in enumerate(pages, start=1):
        audit.numbered_page(number=number, limit=limit, count=count, has_next=has_next)
    return audit


def test_numbered_pages_up_to_an_empty_one_are_complete():
    assert numbered(FetchAudit(), 100, 100, 40, 0, 0).finish() == []


def test_an_empty_numbered_page_followed_by_records_makes_it_partial():
    assert numbered(FetchAudit(), 100, 0, 100, 30, 0, 0).finish() == [
        "page 3 has records after page 2 came back empty: records may have been skipped"
    ]


def test_a_short_numbered_page_mid_catalog_makes_it_partial():
    assert numbered(FetchAudit(), 100, 60, 100, 0, 0).finish() == [
        "page 3 has records after page 2 came back with 60 of 100 records: records may have been skipped"
    ]


def test_a_source_serving_fewer_than_asked_is_judged_at_its_own_page_size():
    assert numbered(FetchAudit(), 250, 250, 12, 0, 0, limit=500).finish() == []


def test_a_first_page_cut_short_shows_when_a_later_page_has_more():
    assert numbered(FetchAudit(), 40, 100, 0, 0).finish() == [
        "page 2 came back with 100 records, the first page with 40: the first page was cut short"
    ]


def test_numbered_paging_that_stopped_before_an_empty_page_is_partial():
    assert numbered(FetchAudit(), 100, 100).finish() == [
        "paging stopped at page 2 before the end of the catalog showed (an empty page)"
    ]


def test_a_failed_numbered_page_makes_it_partial():
    audit = numbered(FetchAudit(), 100)
    audit.numbered_page(number=2, limit=100, count=0, error="the body is not valid JSON")
    numbered_from = [(3, 20), (4, 0), (5, 0)]
    for number, count in numbered_from:
        audit.numbered_page(number=number, limit=100, count=count)
    assert audit.finish() == ["page 2 (up to 100 records) failed: the body is not valid JSON"]


def test_linked_pages_up_to_one_without_a_next_link_are_complete():
    assert linked(FetchAudit(), (100, True), (100, True), (7, False)).finish() == []
    assert linked(FetchAudit(), (100, True), (0, False)).finish() == []


def test_an_empty_or_short_page_that_still_links_a_next_one_makes_it_partial():
    assert linked(FetchAudit(), (100, True), (0, True), (100, False)).finish() == [
        "page 2 came back empty but links a next page"
    ]
    assert linked(FetchAudit(), (100, True), (60, True), (5, False)).finish() == [
        "page 2 came back with 60 of 100 records but links a next page"
    ]


def test_links_followed_no_further_than_a_page_with_a_next_link_are_partial():
    assert linked(FetchAudit(), (100, True), (100, True)).finish() == [
        "paging stopped at page 2 before the end of the catalog showed (a page without a next link)"
    ]


def test_numbered_pages_with_max_products_are_partial_for_that_reason_only():
    audit = numbered(FetchAudit(max_products=150), 100, 50)
    assert audit.finish() == ["max_products is set (150): only part of the catalog was read"]
