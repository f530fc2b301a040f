import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CATALOG = REPO.parent / "shared" / "data" / "dummyjson-products.json"


@pytest.fixture(scope="session")
def real_catalog() -> list[dict]:
    """The real 194-product DummyJSON snapshot, read from ../shared (never copied into the project)."""
    return json.loads(SHARED_CATALOG.read_text())
