"""Synthetic products, so load tests and demos can use catalogs far larger than 194: DummyJSON-shaped
(``generate_catalog``), or in Shopify's ``products.json`` shape with variants
(``generate_shopify_catalog``)."""

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


# --- Shopify's products.json shape: products with sizes and colours ---------------------------------

SHOPIFY_TYPES = ("T-Shirts", "Hoodies", "Sneakers", "Dresses", "Caps", "Socks", "Jackets", "Bags")
SHOPIFY_SIZES = ("XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL", "6XL")
SHOPIFY_COLOURS = ("Black", "White", "Red", "Blue", "Green", "Grey", "Navy", "Olive", "Sand", "Pink")
SHOPIFY_IMAGE_HOST = "https://cdn.example.com/shopify"
# The product with 10 sizes x 10 colours (when the catalog has that many products).
HUNDRED_VARIANTS_AT = 3
# Every this many products, one without product_type (Shopify allows it: no category).
UNTYPED_EVERY = 17
# Every this many products, tags as the Admin API sends them (one comma-separated string).
TAGS_AS_TEXT_EVERY = 5
_SHOPIFY_PRODUCT_BASE = 8_000_000_000
_SHOPIFY_VARIANT_BASE = 40_000_000_000
_SHOPIFY_IMAGE_BASE = 30_000_000_000


def shopify_product_id(n: int) -> int:
    """The id of the ``n``-th generated Shopify product (1-based)."""
    return _SHOPIFY_PRODUCT_BASE + n


def generate_shopify_catalog(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` products in Shopify's ``products.json`` shape, the same for the same ``n`` and ``seed``.

    Each has 1 to 12 variants over sizes and colours (one ``Title``/``Default Title`` variant for a
    product without options); product ``HUNDRED_VARIANTS_AT`` has 10 sizes x 10 colours. Images:
    one or two shared by all variants, and one per colour linked to that colour's variants
    (``variant_ids``, and each variant's ``featured_image``). Prices are strings with cents, skus
    and barcodes unique across the catalog, ``inventory_quantity`` 0 to 60.
    """
    return list(iter_shopify_catalog(n, seed))


def iter_shopify_catalog(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = random.Random(f"shopify-{seed}")
    for pid in range(1, n + 1):
        product_id = shopify_product_id(pid)
        kind = SHOPIFY_TYPES[rng.randrange(len(SHOPIFY_TYPES))]
        brand, adjective = BRANDS[rng.randrange(len(BRANDS))], ADJECTIVES[rng.randrange(len(ADJECTIVES))]
        title = f"{brand} {adjective} {kind[:-1]} {pid}"
        handle = "-".join(title.lower().replace("&", "and").split())
        if pid == HUNDRED_VARIANTS_AT:
            sizes, colours = SHOPIFY_SIZES, SHOPIFY_COLOURS
        else:
            sizes = SHOPIFY_SIZES[: rng.choice((1, 1, 2, 3, 4))]
            colours = SHOPIFY_COLOURS[rng.randrange(4) : 4][: rng.choice((1, 2, 3))]
        base = 5 * 10 ** (rng.random() * 2)  # 5.00 to 500.00
        shared = [
            {
                "id": _SHOPIFY_IMAGE_BASE + pid * 100 + k,
                "product_id": product_id,
                "position": k,
                "src": f"{SHOPIFY_IMAGE_HOST}/{handle}/main-{k}.jpg",
                "variant_ids": [],
            }
            for k in range(1, 1 + rng.choice((1, 2)))
        ]
        combos = [(size, colour) for colour in colours for size in sizes]
        single = len(combos) == 1
        variants: list[dict[str, Any]] = []
        by_colour: dict[str, list[int]] = {}
        for k, (size, colour) in enumerate(combos, start=1):
            variant_id = _SHOPIFY_VARIANT_BASE + pid * 1000 + k
            values = (
                ["Default Title"]
                if single
                else [v for v, many in ((size, len(sizes) > 1), (colour, len(colours) > 1)) if many]
            )
            quantity = rng.randrange(61)
            variants.append(
                {
                    "id": variant_id,
                    "product_id": product_id,
                    "title": " / ".join(values),
                    "option1": values[0],
                    "option2": values[1] if len(values) > 1 else None,
                    "option3": None,
                    "sku": f"SHP-{pid:05d}-{k:03d}",
                    "barcode": str(2 * 10**12 + pid * 1000 + k),
                    "price": f"{base + SHOPIFY_SIZES.index(size) * 1.5:.2f}",
                    "compare_at_price": None,
                    "grams": 100 + rng.randrange(900),
                    "available": quantity > 0,
                    "inventory_quantity": quantity,
                    "requires_shipping": True,
                    "taxable": True,
                    "position": k,
                    "featured_image": None,
                }
            )
            by_colour.setdefault(colour, []).append(variant_id)
        coloured = []
        if not single and len(colours) > 1:
            for k, colour in enumerate(colours, start=len(shared) + 1):
                coloured.append(
                    {
                        "id": _SHOPIFY_IMAGE_BASE + pid * 100 + k,
                        "product_id": product_id,
                        "position": k,
                        "src": f"{SHOPIFY_IMAGE_HOST}/{handle}/{colour.lower()}.jpg",
                        "variant_ids": by_colour[colour],
                    }
                )
            image_of = {vid: image for image in coloured for vid in image["variant_ids"]}
            for variant in variants:
                variant["featured_image"] = image_of[variant["id"]]
        if single:
            options = [{"name": "Title", "position": 1, "values": ["Default Title"]}]
        else:
            options = [
                {"name": name, "position": position, "values": list(values)}
                for position, (name, values) in enumerate(
                    (
                        (name, values)
                        for name, values in (("Size", sizes), ("Color", colours))
                        if len(values) > 1
                    ),
                    start=1,
                )
            ]
        tags = sorted(
            {kind.lower(), *rng.sample(("new", "sale", "organic", "summer", "winter", "unisex"), 2)}
        )
        yield {
            "id": product_id,
            "title": title,
            "handle": handle,
            "body_html": f"<p>{title}: soft, durable and made to last.</p>",
            "published_at": "2026-01-01T00:00:00-05:00",
            "created_at": "2026-01-01T00:00:00-05:00",
            "updated_at": "2026-01-02T00:00:00-05:00",
            "vendor": brand,
            "product_type": "" if pid % UNTYPED_EVERY == 0 else kind,
            "tags": ", ".join(tags) if pid % TAGS_AS_TEXT_EVERY == 0 else tags,
            "variants": variants,
            "images": shared + coloured,
            "options": options,
        }
