"""A product as ``GET /admin/products`` returns it with the fields the diff asks for."""

from medusa_sync.fingerprint import HASH_KEY


def store_product(pid, external_id, handle, sync_hash=None, status="published"):
    return {
        "id": pid,
        "external_id": external_id,
        "handle": handle,
        "status": status,
        "updated_at": "2026-11-28T10:00:00.000Z",
        "metadata": {HASH_KEY: sync_hash} if sync_hash else None,
        "variants": [{"id": f"variant_{pid}"}],
    }
