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
