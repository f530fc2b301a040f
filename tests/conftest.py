import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_CATALOG_FILE = REPO / "tests" / "data" / "dummyjson-products.json"


@pytest.fixture(scope="session")
def real_catalog() -> list[dict]:
    """The real 194-product DummyJSON snapshot (``tests/data``, its origin in the README there)."""
    return json.loads(REAL_CATALOG_FILE.read_text())
