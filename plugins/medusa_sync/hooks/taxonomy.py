"""The store's categories and tags: which of those the products need exist, and creating the
missing ones, all or nothing per attempt, while the caller goes on with its own work.

Medusa creates a category or a tag one request at a time. ``fetch_pages`` starts them as soon as
a page names them, so that on a first sync they are made while the source is still being read
(and ``sync_categories`` is skipped); ``sync_categories`` uses the same maker for what is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from medusa_sync.core.mapping import category_handle
from medusa_sync.hooks.medusa import MedusaHook

log = logging.getLogger(__name__)

# Categories and tags are created this many at a time: one request each is Medusa's only way, and
# more in flight hide its per-request latency (its CPU bounds them soon after).
TAXONOMY_CONCURRENCY = 8


class TaxonomyMaker:
    """Looks up the categories (by handle) and tags (by value) it is told are needed, creates the
    missing ones ``workers`` at a time in the background, and on ``finish`` returns ``taxonomy.json``.

    All or nothing: after the first failure nothing new is started, and ``finish`` (or ``abandon``)
    deletes what this maker created before it raises, so a retry starts from the store as it was.
    With ``create=False`` (a dry run) it only looks up; what is missing is listed to be created.

    :param hook: the store's hook (lookups and creations go through its public API).
    :param create: create what is missing (False: a dry run, look up only).
    :param workers: creations in flight at once.
    """

    def __init__(self, hook: MedusaHook, *, create: bool = True, workers: int = TAXONOMY_CONCURRENCY) -> None:
        self.hook = hook
        self.create = create
        # Lookups one at a time, in the order they were asked for; creations ``workers`` at a time.
        self._lookups = ThreadPoolExecutor(1, thread_name_prefix="taxonomy-lookup")
        self._creations = ThreadPoolExecutor(workers, thread_name_prefix="taxonomy")
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._handles: set[str] = set()  # handles asked for, each looked up once
        # Source categories and tags, each once, in the order they were asked for.
        self._categories: dict[str, None] = {}
        self._tags: dict[str, None] = {}
        self.category_ids: dict[str, str] = {}  # handle -> id, for every one found or created
        self.tag_ids: dict[str, str] = {}  # value -> id
        self.created_categories: dict[str, str] = {}  # handle -> id, made by this maker
        self.created_tags: dict[str, str] = {}  # value -> id
        self.names: dict[str, str] = {}  # handle -> the name it is created with

    def need(self, categories: Mapping[str, str], tags: Sequence[str]) -> None:
        """Source categories (category -> display name) and tag values the records use; those not
        asked for before are looked up, and the missing ones created, in the background."""
        new_categories: dict[str, str] = {}
        for category, name in categories.items():
            if category not in self._categories:
                self._categories[category] = None
                handle = category_handle(category)
                if handle not in self._handles:
                    self._handles.add(handle)
                    new_categories[handle] = name
        new_tags = [t for t in dict.fromkeys(tags) if t not in self._tags]
        self._tags.update(dict.fromkeys(new_tags))
        if (new_categories or new_tags) and not self._failed.is_set():
            self.names.update(new_categories)
            self._futures.append(
                self._lookups.submit(self._first_failure_stops, self._look_up, new_categories, new_tags)
            )

    def finish(self) -> dict[str, Any]:
        """Waits for every lookup and creation; ``taxonomy.json``'s content. On a failure, what this
        maker created is deleted again and the first error is raised."""
        error = self._wait()
        if error is not None:
            self._roll_back()
            raise error
        for handle in self.created_categories:
            log.info("created category %r (%s)", self.names[handle], handle)
        return taxonomy_file(
            list(self._categories),
            list(self._tags),
            self.category_ids,
            self.tag_ids,
            created_categories=list(self.created_categories),
            created_tags=list(self.created_tags),
        )

    def abandon(self) -> None:
        """The caller failed: nothing new is started, and what was created is deleted again."""
        self._failed.set()
        self._wait()
        self._roll_back()

    def _look_up(self, categories: dict[str, str], tags: list[str]) -> None:
        if categories:
            found = self.hook.list_categories(handles=list(categories), fields=("id", "handle"))
            existing = {c["handle"]: c["id"] for c in found}
            with self._lock:
                self.category_ids.update(existing)
            for handle in categories:
                if handle not in existing and self.create:
                    self._start(self._create_category, handle, categories[handle])
        if tags:
            existing = {t["value"]: t["id"] for t in self.hook.list_tags(values=tags)}
            with self._lock:
                self.tag_ids.update(existing)
            for tag in tags:
                if tag not in existing and self.create:
                    self._start(self._create_tag, tag)

    def _start(self, create: Callable[..., None], *args: str) -> None:
        if not self._failed.is_set():
            self._futures.append(self._creations.submit(self._first_failure_stops, create, *args))

    def _first_failure_stops(self, work: Callable[..., None], *args: Any) -> None:
        """On the first failure nothing new is started; the requests already in flight finish."""
        if self._failed.is_set():
            return
        try:
            work(*args)
        except BaseException:
            self._failed.set()
            raise

    def _create_category(self, handle: str, name: str) -> None:
        made = self.hook.create_category(name=name, handle=handle)
        with self._lock:
            self.category_ids[handle] = self.created_categories[handle] = made["id"]

    def _create_tag(self, value: str) -> None:
        made = self.hook.create_tag(value)
        with self._lock:
            self.tag_ids[value] = self.created_tags[value] = made["id"]

    def _wait(self) -> BaseException | None:
        """Every lookup, then every creation it started, done; the first error, if any."""
        error: BaseException | None = None
        seen = 0
        # A lookup adds creations as it goes: wait until no new future appeared.
        while seen < len(self._futures):
            batch = self._futures[seen:]
            seen = len(self._futures)
            wait(batch)
            for future in batch:
                if (failure := future.exception()) is not None:
                    self._failed.set()
                    error = error or failure
        self._lookups.shutdown()
        self._creations.shutdown()
        return error

    def _roll_back(self) -> None:
        if not (self.created_categories or self.created_tags):
            return
        log.error(
            "deleting the %d categories and %d tags this attempt created",
            len(self.created_categories),
            len(self.created_tags),
        )
        for handle, category_id in reversed(self.created_categories.items()):
            try:
                self.hook.delete_category(category_id)
            except Exception:  # keep deleting the rest; the original error is what matters
                log.exception("could not delete category %s", handle)
        for value, tag_id in reversed(self.created_tags.items()):
            try:
                self.hook.delete_tag(tag_id)
            except Exception:
                log.exception("could not delete tag %r", value)
        self.created_categories.clear()
        self.created_tags.clear()


def taxonomy_file(
    categories: Sequence[str],
    tags: Sequence[str],
    category_ids: Mapping[str, str],
    tag_ids: Mapping[str, str],
    *,
    created_categories: Sequence[str] = (),
    created_tags: Sequence[str] = (),
) -> dict[str, Any]:
    """``taxonomy.json``: the ids ``compute_diff`` maps with (source category -> id, tag -> id) and
    the counts the report shows. ``category_ids`` is by Medusa handle and ``tag_ids`` by value,
    both including what this attempt created (``created_*``, handles and values)."""
    handles = {c: category_handle(c) for c in categories}
    missing = [c for c in categories if handles[c] not in category_ids]
    return {
        "categories": {c: category_ids[h] for c, h in handles.items() if h in category_ids},
        "tags": {t: tag_ids[t] for t in tags if t in tag_ids},
        "categories_created": sorted(created_categories),
        "categories_existing": len(categories) - len(missing) - len(created_categories),
        "categories_to_create": missing,
        "tags_created": list(created_tags),
        "tags_existing": sum(1 for t in tags if t in tag_ids) - len(created_tags),
        "tags_to_create": [t for t in tags if t not in tag_ids],
    }
