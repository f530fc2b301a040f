import pytest


@pytest.fixture
def record() -> dict:
    return {
        "id": 1,
        "title": "Essence Mascara Lash Princess",
        "description": "Volumizing mascara.",
        "category": "beauty",
        "price": 9.99,
        "discountPercentage": 10.48,
        "rating": 2.56,
        "stock": 99,
        "tags": ["beauty", "mascara"],
        "brand": "Essence",
        "sku": "BEA-ESS-ESS-001",
        "weight": 4,
        "dimensions": {"width": 15.14, "height": 13.08, "depth": 22.99},
        "warrantyInformation": "1 week warranty",
        "shippingInformation": "Ships in 3-5 business days",
        "availabilityStatus": "In Stock",
        "reviews": [{"rating": 3, "comment": "Would not recommend!"}],
        "returnPolicy": "No return policy",
        "minimumOrderQuantity": 48,
        "meta": {"barcode": "5784719087687", "qrCode": "https://example.test/qr.png"},
        "images": ["https://cdn.example.test/1.webp", "https://cdn.example.test/2.webp"],
        "thumbnail": "https://cdn.example.test/thumbnail.webp",
    }


def shirt(pid: int = 7, stocks: tuple = (3, 0, 8, 5), **changes) -> dict:
    """A canonical product with variants: sizes S, M by colours Red, Blue, source variant ids
    ``pid * 100 + 1..4``, each with its own sku, barcode and ``stocks`` entry."""
    combos = [("S", "Red"), ("S", "Blue"), ("M", "Red"), ("M", "Blue")]
    variants = [
        {
            "id": pid * 100 + n,
            "title": f"{size} / {colour}",
            "options": {"Size": size, "Colour": colour},
            "sku": f"TEE-{pid}-{size}-{colour}",
            "barcode": f"{pid:04d}{n:04d}",
            "price": 19.99,
            "stock": stock,
        }
        for n, ((size, colour), stock) in enumerate(zip(combos, stocks, strict=True), start=1)
    ]
    return {
        "id": pid,
        "title": f"Tee {pid}",
        "category": "tops",
        "options": [{"title": "Size", "values": ["S", "M"]}, {"title": "Colour", "values": ["Red", "Blue"]}],
        "variants": variants,
        **changes,
    }


@pytest.fixture
def variant_record():
    """``shirt``: a canonical product with four variants (Size by Colour)."""
    return shirt
