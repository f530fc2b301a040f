from medusa_sync.core.handles import HandleAllocator, slugify

HANDLE_RULE = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def test_slug_is_lowercase_words_joined_by_dashes():
    assert slugify("Rolex Cellini Moonphase") == "rolex-cellini-moonphase"
    assert slugify("  iPhone 13 Pro -- Max!! ") == "iphone-13-pro-max"


def test_accents_fold_to_ascii():
    assert slugify("Crème Brûlée Façade") == "creme-brulee-facade"


def test_title_without_latin_letters_has_empty_slug():
    assert slugify("🎉🎉") == ""
    assert slugify("东京") == ""


def test_long_titles_are_cut_without_a_trailing_dash():
    slug = slugify("word " * 100, max_length=22)
    assert len(slug) <= 22
    assert not slug.endswith("-")


def test_colliding_titles_get_numbered_suffixes_in_order():
    allocator = HandleAllocator()
    assert allocator.allocate("Rolex Cellini Moonphase", fallback="product-1") == "rolex-cellini-moonphase"
    assert allocator.allocate("Rolex Cellini Moonphase", fallback="product-2") == "rolex-cellini-moonphase-1"
    assert allocator.allocate("Rolex Cellini Moonphase", fallback="product-3") == "rolex-cellini-moonphase-2"


def test_handles_already_in_the_store_are_never_reused():
    allocator = HandleAllocator({"lamp", "lamp-1"})
    assert allocator.allocate("Lamp", fallback="product-9") == "lamp-2"


def test_untitleable_products_fall_back_to_their_id_and_stay_valid():
    import re

    allocator = HandleAllocator({"product-7"})
    handle = allocator.allocate("🔥🔥🔥", fallback="product-7")
    assert handle == "product-7-1"
    assert re.match(HANDLE_RULE, handle)


class CountingSet(set):
    """A taken-handle set that counts the membership probes the allocator makes."""

    probes = 0

    def __contains__(self, handle: object) -> bool:
        self.probes += 1
        return super().__contains__(handle)


def test_many_namesakes_cost_a_probe_or_two_each_not_one_per_earlier_namesake():
    taken = CountingSet({"phone-case-3"})  # a suffix someone else holds is still skipped
    allocator = HandleAllocator(taken)
    handles = [allocator.allocate("Phone Case", fallback=f"product-{i}") for i in range(20_000)]
    assert handles[:5] == ["phone-case", "phone-case-1", "phone-case-2", "phone-case-4", "phone-case-5"]
    assert len(set(handles)) == 20_000
    assert taken.probes <= 2 * 20_000 + 1


def test_a_forgotten_base_still_gets_a_free_handle(monkeypatch):
    monkeypatch.setattr("medusa_sync.core.handles.MAX_REMEMBERED_BASES", 1)
    allocator = HandleAllocator()
    first = [allocator.allocate("Lamp", fallback="p") for _ in range(3)]
    allocator.allocate("Desk", fallback="p")
    allocator.allocate("Desk", fallback="p")  # remembering "desk" forgets "lamp"
    assert first == ["lamp", "lamp-1", "lamp-2"]
    assert allocator.allocate("Lamp", fallback="p") == "lamp-3"
