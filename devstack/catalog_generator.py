"""Synthetic DummyJSON-shaped products, so load tests and demos can use catalogs far larger than 194."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

# Category slug -> (product nouns, tag words). Slugs follow DummyJSON's so category handling gets exercised.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "beauty": (("Mascara", "Lipstick", "Eyeshadow Palette", "Nail Polish", "Powder"), ("beauty", "makeup")),
    "fragrances": (("Eau de Parfum", "Cologne", "Body Mist", "Perfume Oil"), ("fragrances", "perfume")),
    "furniture": (("Armchair", "Bookshelf", "Bed Frame", "Coffee Table", "Sofa"), ("furniture", "living")),
    "groceries": (("Honey", "Rice", "Olive Oil", "Green Tea", "Oat Flakes", "Pasta"), ("groceries", "food")),
    "home-decoration": (("Table Lamp", "Wall Clock", "Vase", "Picture Frame"), ("decor", "home")),
    "kitchen-accessories": (
        ("Frying Pan", "Chef Knife", "Cutting Board", "Kettle", "Whisk"),
        ("kitchen", "cooking"),
    ),
    "laptops": (("Laptop", "Notebook", "Ultrabook"), ("laptops", "computers", "electronics")),
    "mens-shirts": (
        ("Oxford Shirt", "Polo Shirt", "Flannel Shirt", "Linen Shirt"),
        ("clothing", "shirts", "men"),
    ),
    "mens-shoes": (("Sneakers", "Loafers", "Running Shoes", "Boots"), ("footwear", "shoes", "men")),
    "mens-watches": (("Chronograph", "Diver Watch", "Dress Watch"), ("watches", "accessories", "men")),
    "mobile-accessories": (("Phone Case", "Charger", "Earbuds", "Power Bank"), ("electronics", "mobile")),
    "motorcycle": (("Motorcycle", "Scooter", "Cruiser"), ("vehicles", "motorcycles")),
    "skin-care": (("Moisturiser", "Face Serum", "Sunscreen", "Cleanser"), ("skincare", "beauty")),
    "smartphones": (("Smartphone", "Phone", "Handset"), ("smartphones", "electronics", "mobile")),
    "sports-accessories": (("Football", "Yoga Mat", "Tennis Racket", "Dumbbell"), ("sports", "fitness")),
    "sunglasses": (("Aviator Sunglasses", "Round Sunglasses", "Sport Sunglasses"), ("sunglasses", "eyewear")),
    "tablets": (("Tablet", "E-Reader", "Drawing Tablet"), ("tablets", "electronics")),
    "tops": (("T-Shirt", "Blouse", "Tank Top", "Crop Top"), ("clothing", "tops", "women")),
    "vehicle": (("Sedan", "Hatchback", "Pickup", "Estate Car"), ("vehicles", "cars")),
    "womens-bags": (("Handbag", "Tote Bag", "Backpack", "Clutch"), ("bags", "accessories", "women")),
    "womens-dresses": (("Summer Dress", "Maxi Dress", "Wrap Dress"), ("clothing", "dresses", "women")),
    "womens-jewellery": (("Necklace", "Earrings", "Bracelet", "Ring"), ("jewellery", "accessories", "women")),
    "womens-shoes": (("Heels", "Sandals", "Ballet Flats", "Ankle Boots"), ("footwear", "shoes", "women")),
    "womens-watches": (
        ("Bracelet Watch", "Minimalist Watch", "Gold Watch"),
        ("watches", "accessories", "women"),
    ),
}
SLUGS = tuple(CATEGORIES)
ADJECTIVES = (
    "Classic",
    "Modern",
    "Compact",
    "Deluxe",
    "Essential",
    "Vintage",
    "Premium",
    "Everyday",
    "Urban",
    "Natural",
    "Bold",
    "Soft",
    "Smart",
    "Rustic",
    "Elegant",
    "Sporty",
    "Light",
    "Pro",
    "Mini",
    "Grand",
)
COLOURS = (
    "Black",
    "White",
    "Red",
    "Blue",
    "Green",
    "Silver",
    "Gold",
    "Grey",
    "Ivory",
    "Teal",
    "Coral",
    "Navy",
)
BRANDS = (
    "Aurora",
    "Northwind",
    "Brightline",
    "Copperleaf",
    "Fernhill",
    "Lumen",
    "Maple & Co",
    "Oakridge",
    "Pebble",
    "Quartzite",
    "Riverstone",
    "Solace",
    "Tidewater",
    "Velvetine",
    "Willowmere",
    "Zenith Works",
)
WARRANTIES = (
    "No warranty",
    "1 week warranty",
    "1 month warranty",
    "3 months warranty",
    "6 months warranty",
    "1 year warranty",
    "2 year warranty",
    "3 year warranty",
    "5 year warranty",
    "Lifetime warranty",
)
SHIPPING = (
    "Ships overnight",
    "Ships in 1-2 business days",
    "Ships in 3-5 business days",
    "Ships in 1 week",
    "Ships in 2 weeks",
    "Ships in 1 month",
)
RETURNS = (
    "No return policy",
    "7 days return policy",
    "30 days return policy",
    "60 days return policy",
    "90 days return policy",
)
COMMENTS = (
    "Great value!",
    "Would buy again!",
    "Not as described.",
    "Very satisfied!",
    "Fast delivery!",
    "Disappointing quality.",
    "Highly recommended!",
    "Does the job.",
)
FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kira",
    "Leo",
)
LAST_NAMES = ("Archer", "Baker", "Carter", "Dalton", "Ellis", "Foster", "Gray", "Hayes", "Irving", "Jensen")
IMAGE_HOST = "https://images.example.com/products"
QR_CODE = "https://images.example.com/qr-code.png"
EPOCH = date(2025, 1, 1)
TITLE_REUSE_EVERY = 50
# Barcodes walk a cycle of 9 * 10**12 with a stride coprime to it, so they stay unique and 13 digits long.
_BARCODE_SPAN = 9 * 10**12
_BARCODE_STRIDE = 7_428_193_771


class _Days(dict[int, str]):
    """Caches the date part of timestamps; formatting a datetime per product was most of the run time."""

    def __missing__(self, day: int) -> str:
        self[day] = text = (EPOCH + timedelta(days=day)).isoformat()
        return text


def generate_catalog(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Same ``n`` and ``seed`` give the same products, and a longer catalog extends a shorter one."""
    return list(iter_catalog(n, seed))


def iter_catalog(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``generate_catalog`` one product at a time, for catalogs too large to hold as a list."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = random.Random(seed)
    rand = rng.random
    barcode_offset = random.Random(f"barcode-{seed}").randrange(_BARCODE_SPAN)
    earlier: list[tuple[str, str, str]] = []  # (title, category slug, noun) of every product so far
    days = _Days()
    for pid in range(1, n + 1):
        slug = SLUGS[int(rand() * len(SLUGS))]
        nouns, _ = CATEGORIES[slug]
        noun = nouns[int(rand() * len(nouns))]
        adjective = ADJECTIVES[int(rand() * len(ADJECTIVES))]
        colour = COLOURS[int(rand() * len(COLOURS))]
        brand = BRANDS[int(rand() * len(BRANDS))] if rand() < 0.53 else None
        if pid % TITLE_REUSE_EVERY == 0:
            # A reused title makes title-derived handles collide, as two real products called
            # "Rolex Cellini Moonphase" do; the copy keeps the original's category so it stays plausible.
            title, slug, noun = earlier[int(rand() * len(earlier))]
        else:
            title = f"{brand or adjective} {colour} {noun} {pid}"
        earlier.append((title, slug, noun))
        tag_pool = CATEGORIES[slug][1]

        stock = int(rand() * 120)
        status = "Out of Stock" if stock == 0 else "Low Stock" if stock < 10 else "In Stock"
        day, minute = divmod(pid * 7, 1440)
        clock = f"T{minute // 60:02d}:{minute % 60:02d}:00.{int(rand() * 1000):03d}Z"
        stamp = days[day] + clock
        path_slug = "-".join(title.lower().replace("&", "and").split())
        image_count = 1 + int(rand() * 4)
        tags = list(dict.fromkeys(tag_pool[int(rand() * len(tag_pool))] for _ in range(1 + int(rand() * 3))))
        reviews = []
        for _ in range(1 + int(rand() * 3)):
            first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
            last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
            reviews.append(
                {
                    "rating": 1 + int(rand() * 5),
                    "comment": COMMENTS[int(rand() * len(COMMENTS))],
                    "date": stamp,
                    "reviewerName": f"{first} {last}",
                    "reviewerEmail": f"{first.lower()}.{last.lower()}@example.com",
                }
            )
        product: dict[str, Any] = {
            "id": pid,
            "title": title,
            "description": (
                f"{title}: {adjective.lower()} {noun.lower()} in {colour.lower()}, "
                "made for everyday use and built to last."
            ),
            "category": slug,
            # Log-uniform between 0.50 and 5000.00: mostly cheap items with a long tail of expensive ones.
            "price": round(0.5 * 10_000 ** rand(), 2),
            "discountPercentage": round(rand() * 20, 2),
            "rating": round(1 + rand() * 4, 2),
            "stock": stock,
            "tags": tags,
        }
        if brand is not None:
            product["brand"] = brand
        product.update(
            {
                "sku": f"{slug[:3].upper()}-{(brand or 'GEN')[:3].upper()}-{noun[:3].upper()}-{pid:03d}",
                "weight": 1 + int(rand() * 10),
                "dimensions": {
                    "width": round(5 + rand() * 25, 2),
                    "height": round(5 + rand() * 25, 2),
                    "depth": round(5 + rand() * 25, 2),
                },
                "warrantyInformation": WARRANTIES[int(rand() * len(WARRANTIES))],
                "shippingInformation": SHIPPING[int(rand() * len(SHIPPING))],
                "availabilityStatus": status,
                "reviews": reviews,
                "returnPolicy": RETURNS[int(rand() * len(RETURNS))],
                "minimumOrderQuantity": 1 + int(rand() * 50),
                "meta": {
                    "createdAt": stamp,
                    "updatedAt": days[day + int(rand() * 90)] + clock,
                    "barcode": str(10**12 + (barcode_offset + pid * _BARCODE_STRIDE) % _BARCODE_SPAN),
                    "qrCode": QR_CODE,
                },
                "images": [f"{IMAGE_HOST}/{slug}/{path_slug}/{k}.webp" for k in range(1, image_count + 1)],
                "thumbnail": f"{IMAGE_HOST}/{slug}/{path_slug}/thumbnail.webp",
            }
        )
        yield product
