"""Which shipping profile new products get when the run names none: the store's default one.

Pure: the hook lists the store's profiles of type ``default``; this decides among them. Medusa
does not stop a store from having several (a migration, a plugin, a merchant): the pick must not
change between runs, so it is the oldest, and a warning names the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Why a run without a shipping profile creates nothing: said in the plan, the report and the log.
NO_PROFILE = (
    "the store has no default shipping profile and shipping_profile_id is empty: new products are "
    "held back, not created (Medusa could not ship them); set shipping_profile_id, or give the "
    "store a default shipping profile, and the next run creates them"
)


def pick_default(profiles: Iterable[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    """The default profile to use (None without one) and a warning when there were several.

    The oldest by ``created_at``, then by id: the same pick on every run whatever order Medusa
    lists them in. A profile without ``created_at`` sorts after those with one.
    """
    found = sorted(
        (p for p in profiles if p.get("id")),
        key=lambda p: (p.get("created_at") is None, str(p.get("created_at") or ""), str(p["id"])),
    )
    if not found:
        return None, None
    chosen = str(found[0]["id"])
    if len(found) == 1:
        return chosen, None
    others = ", ".join(str(p["id"]) for p in found[1:])
    return chosen, (
        f"the store has {len(found)} default shipping profiles: using the oldest, {chosen} "
        f"(not {others}); set shipping_profile_id to choose"
    )
