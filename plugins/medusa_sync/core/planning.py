"""Planning: the desired catalog against the store, item by item, into batches.

Data in, data out: the fetch's records and the store index go in, each planned item goes to a
sink (the batch files), and the plan's counts and decisions come back. Asking the source whether a
product that looks missing is really gone is a callback: the decision (the guard, what counts as
proof) is made here, the HTTP stays in the source hook.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, Protocol, get_args

from medusa_sync.core.batching import Kind
from medusa_sync.core.diff import StoreProduct, classify
from medusa_sync.core.handles import HandleAllocator
from medusa_sync.core.mapping import MappingContext, as_create, as_update, desired_product, draft_update
from medusa_sync.core.missing import Answer, Confirmation, GuardDecision, judge
from medusa_sync.core.ownership import SOURCE_VARIANT_KEY, SYNC_VARIANTS_KEY, is_variant_payload
from medusa_sync.core.report import MAX_LISTED
from medusa_sync.core.shipping import NO_PROFILE
from medusa_sync.core.store_index import StoreIndex
from medusa_sync.core.store_state import planned_state

log = logging.getLogger(__name__)

# The choices of on_missing and product_status, named once: the Params, the settings and the
# operators take them from here.
OnMissing = Literal["ignore", "draft", "delete"]
ProductStatus = Literal["published", "draft"]
ON_MISSING: tuple[str, ...] = get_args(OnMissing)
PRODUCT_STATUSES: tuple[str, ...] = get_args(ProductStatus)


@dataclass(frozen=True)
class PlanSettings:
    """What a run's params decide about its plan, parsed by type."""

    dry_run: bool
    full_refresh: bool
    batch_size: int
    on_missing: str
    max_missing_percent: float
    product_status: str
    currency_code: str
    sales_channel_id: str | None
    sync_inventory: bool = False
    shipping_profile_id: str | None = None

    def mapping_context(
        self,
        *,
        taxonomy: Mapping[str, Mapping[str, str]],
        sales_channel_id: str,
        shipping_profile_id: str | None,
        external_id_prefix: str,
    ) -> MappingContext:
        """The mapping's context: these settings with the ids resolved against the store
        (``taxonomy`` is ``sync_categories``' ``{"categories": {...}, "tags": {...}}``)."""
        return MappingContext(
            currency_code=self.currency_code,
            status=self.product_status,
            sales_channel_id=sales_channel_id,
            category_ids=taxonomy["categories"],
            tag_ids=taxonomy["tags"],
            external_id_prefix=external_id_prefix,
            manage_inventory=self.sync_inventory,
            shipping_profile_id=shipping_profile_id,
        )


class ItemSink(Protocol):
    """Where planned items go (the batch files): ``planned`` is the store state an update, draft or
    delete was planned against, checked again when it is sent."""

    def add(self, kind: Kind, item: Any, planned: dict[str, Any] | None = None) -> None: ...


# Given the products that would be drafted or deleted, each with the source's answer, as they come.
ConfirmAbsent = Callable[[Iterable[StoreProduct]], Iterator[tuple[StoreProduct, Answer]]]


def plan_sync(
    *,
    pages: Iterable[Sequence[Mapping[str, Any]]],
    quarantine: Iterable[Mapping[str, Any]],
    fetch: Mapping[str, Any],
    ctx: MappingContext,
    index: StoreIndex,
    sink: ItemSink,
    settings: PlanSettings,
    confirm_absent: ConfirmAbsent,
) -> dict[str, Any]:
    """The whole plan of a run: creates and updates from the pages, then what vanished upstream."""
    held_back: list[str] = []
    counts = plan_catalog(pages, quarantine, ctx, index, sink, settings, held_back=held_back)
    return {
        **{kind: counts[kind] for kind in ("create", "update", "unchanged")},
        # New products not created: no shipping profile to give them (``shipping.NO_PROFILE``).
        "held_back": (
            {"count": counts["held_back"], "because": NO_PROFILE, "external_ids": held_back}
            if counts["held_back"]
            else None
        ),
        **plan_missing(fetch, index, sink, settings, confirm_absent),
        "variants": plan_variants(counts, fetch, index, settings),
        "on_missing": settings.on_missing,
        "dry_run": settings.dry_run,
        "duplicated_external_ids": index.duplicated,
    }


def describe_plan(plan: Mapping[str, Any]) -> str:
    """A plan (``plan_sync``'s, with ``batches_planned``) in one log line."""
    return (
        f"{plan['create']} to create, {plan['update']} to update, {plan['unchanged']} unchanged, "
        f"{plan['missing_upstream']} missing upstream ({plan['on_missing']}: {plan['missing_action']}) "
        f"in {plan['batches_planned']} batches{'; dry run: no batch will be sent' if plan['dry_run'] else ''}"
    )


def plan_catalog(
    pages: Iterable[Sequence[Mapping[str, Any]]],
    quarantine: Iterable[Mapping[str, Any]],
    ctx: MappingContext,
    index: StoreIndex,
    sink: ItemSink,
    settings: PlanSettings,
    held_back: list[str] | None = None,
) -> Counter[str]:
    """Map every valid record and queue its create or update; returns the count of each action.

    ``pages`` hold the records as the fetch kept them (``SourceProduct.kept``): already valid.
    Without a shipping profile (``ctx.shipping_profile_id`` None: the store has no default one),
    a create is held back, counted ``held_back`` (the first ``MAX_LISTED`` external ids go to
    ``held_back``) and not queued; updates, drafts and deletes need no profile and go ahead.
    """
    allocator = HandleAllocator(index.handles)
    counts: Counter[str] = Counter()
    # A quarantined record still exists upstream: it must never count as missing.
    ids = (ctx.external_id(q["source_id"]) for q in quarantine if q["source_id"])
    while chunk := list(islice(ids, index.CHUNK)):
        index.seen_upstream_all(chunk)
    for records in pages:
        desired_page = [desired_product(record, ctx) for record in records]
        held = index.seen_upstream_all(desired["external_id"] for desired in desired_page)
        for record, desired in zip(records, desired_page, strict=True):
            existing = held.get(desired["external_id"])
            action = classify(desired, existing, full_refresh=settings.full_refresh)
            if existing is not None and (is_variant_payload(desired) or existing.source_variant_ids):
                action = _variants_gone(counts, action, desired, existing, settings)
            if action == "create" and not ctx.shipping_profile_id:
                counts["held_back"] += 1
                if held_back is not None and len(held_back) < MAX_LISTED:
                    held_back.append(desired["external_id"])
                continue
            counts[action] += 1
            if action == "unchanged" and is_variant_payload(desired):
                counts["variants_unchanged"] += len(desired["variants"])
            if action == "create":
                handle = allocator.allocate(record["title"], fallback=f"product-{record['id']}")
                sink.add("create", as_create(desired, handle, ctx.shipping_profile_id))
            elif action == "update":
                update = as_update(desired, existing.id, existing.variant_id, ctx.shipping_profile_id)
                state = planned_state(existing)
                if existing.sync_variants and not is_variant_payload(desired):
                    # Its variants dropped upstream: the send reads the product's variants to swap
                    # them (``ownership.to_one_variant``); other one-variant reads stay as small.
                    state[SYNC_VARIANTS_KEY] = existing.sync_variants
                sink.add("update", update, state)
    if counts["held_back"]:
        log.warning("%d new product(s) not created: %s", counts["held_back"], NO_PROFILE)
    return counts


def _variants_gone(
    counts: Counter[str],
    action: str,
    desired: Mapping[str, Any],
    existing: StoreProduct,
    settings: PlanSettings,
) -> str:
    """A product with variants already in the store: count the sync's variants its record names
    that the source no longer has (what the variant deletion guard weighs, each run while they are
    there), and under ``on_missing=delete`` plan an update of the product for them even when it is
    otherwise unchanged (a variant kept under draft or ignore is deleted once that changes).

    A product whose record has no variants any more (its options dropped upstream) wants none of
    the sync's variants it records: all of them count (``ownership.to_one_variant``)."""
    wanted = {
        str(v["metadata"][SOURCE_VARIANT_KEY])
        for v in desired["variants"]
        if SOURCE_VARIANT_KEY in (v.get("metadata") or {})
    }
    gone = len(set(existing.source_variant_ids) - wanted)
    counts["variants_missing"] += gone
    return "update" if gone and action == "unchanged" and settings.on_missing == "delete" else action


def plan_variants(
    counts: Mapping[str, int], fetch: Mapping[str, Any], index: StoreIndex, settings: PlanSettings
) -> dict[str, Any]:
    """What the run decides about the sync's variants that the source no longer has (their products
    are still there): deleted only under ``on_missing=delete``, after a complete fetch, and within
    the deletion guard measured against the sync's variants in the store; the send acts on it
    (``ownership.VariantDeletes``), or keeps them and says why."""
    missing = counts.get("variants_missing", 0)
    guard: GuardDecision | None = None
    if settings.on_missing != "delete":
        allowed, because = False, f"on_missing={settings.on_missing}: a variant removed upstream is kept"
    elif fetch.get("partial"):
        allowed, because = False, "the fetch did not provably see the whole catalog"
    else:
        guard = judge(
            acting=missing,
            owned=index.owned_variants,
            max_missing_percent=settings.max_missing_percent,
            action="delete",
        )
        allowed, because = guard.allowed, guard.reason.replace("synced products", "synced variants")
        if missing:
            (log.info if guard.allowed else log.error)("variant deletion guard: %s", because)
    return {
        "unchanged": counts.get("variants_unchanged", 0),
        "missing_upstream": missing,
        "delete": {"allowed": allowed, "because": because},
        "guard": guard.to_json() if guard else None,
    }


def plan_missing(
    fetch: Mapping[str, Any],
    index: StoreIndex,
    sink: ItemSink,
    settings: PlanSettings,
    confirm_absent: ConfirmAbsent,
) -> dict[str, Any]:
    """Draft or delete what vanished upstream: only after a complete fetch, within the deletion
    guard, and only the products ``confirm_absent`` proves gone.

    The guard is decided from counts, before anything per missing product is read: a wrong but
    complete source (100 products against a store of a million) fails on the guard's message, not
    on memory. The lookups come after it, so the guard caps them too; the missing products are
    then streamed from the index, through the lookups, into the batch files.
    """
    # Drafting skips what is a draft already; deleting takes everything gone.
    include_drafted = settings.on_missing == "delete"
    missing = index.missing_count()
    acting = index.missing_count(include_drafted=include_drafted)
    guard: GuardDecision | None = None
    if settings.on_missing == "ignore" or not missing:
        action = "none" if not missing else "ignored (on_missing=ignore)"
    elif fetch.get("partial"):
        action = "skipped: the fetch did not provably see the whole catalog"
        log.warning(
            "the fetch did not see the whole catalog (%s): no product is treated as missing upstream",
            "; ".join(fetch.get("incomplete_because", [])),
        )
    else:
        guard = judge(
            acting=acting,
            owned=index.owned,
            max_missing_percent=settings.max_missing_percent,
            action=settings.on_missing,
        )
        action = settings.on_missing if guard.allowed else "blocked by the deletion guard"
        (log.info if guard.allowed else log.error)("deletion guard: %s", guard.reason)
    confirmation = Confirmation()
    if guard is not None and guard.allowed and acting:
        for product, answer in confirm_absent(index.missing_upstream(include_drafted=include_drafted)):
            confirmation.add(answer)
            if answer.outcome != "absent":
                continue
            if settings.on_missing == "draft":
                sink.add("update", draft_update(product.id), planned_state(product))
            else:
                sink.add("delete", product.id, planned_state(product))
        for reason in confirmation.reasons():
            log.warning("missing upstream: %s", reason)
    return {
        "missing_upstream": missing,
        # The first MAX_LISTED by external id; the count above is exact.
        "missing": [
            {"external_id": p.external_id, "id": p.id} for p in index.missing_upstream(limit=MAX_LISTED)
        ],
        "missing_action": action,
        "missing_acted_on": confirmation.absent,
        "fetch_partial": bool(fetch.get("partial")),
        "found_upstream": [a.to_json() for a in confirmation.found],
        "unproven_missing": [a.to_json() for a in confirmation.unproven],
        "missing_unconfirmed_because": confirmation.reasons(),
        "guard": guard.to_json() if guard else None,
    }
