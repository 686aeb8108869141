"""What the generated company looks like: catalogs, funnel, channels and planted effects.

Everything here is fixed data, shared by the generator modules. Names that appear in
`truth.json` (stage names, channel names, loss reasons) are defined once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- sales funnel -------------------------------------------------------------------------

PIPELINE_NAME = "Sales"
STAGES: tuple[str, ...] = ("Lead", "Qualified", "Meeting", "Proposal", "Negotiation", "Won")
OPEN_STAGES = STAGES[:-1]
# Probability of moving from each open stage to the next one (the Won stage is terminal).
# Proposal is planted as the largest drop-off (lowest conversion).
BASE_CONVERSION: dict[str, float] = {
    "Lead": 0.82,
    "Qualified": 0.86,
    "Meeting": 0.84,
    "Proposal": 0.50,
    "Negotiation": 0.82,
}
# Median days spent in each open stage (log-normal around it).
STAGE_MEDIAN_DAYS: dict[str, float] = {
    "Lead": 1.5,
    "Qualified": 3.0,
    "Meeting": 5.0,
    "Proposal": 6.0,
    "Negotiation": 5.0,
}
WEAK_STAGE = "Negotiation"  # the weak manager converts far worse out of this stage
WEAK_CONVERSION = 0.30
SKIPPED_STAGE = "Meeting"  # the skipping manager jumps over this stage
SKIP_RATE_SKIPPER = 0.60
SKIP_RATE_OTHERS = 0.03

LOSS_REASONS: tuple[str, ...] = (
    "Price too high",
    "Chose a competitor",
    "No budget",
    "No response",
    "Not a fit",
    "Bad timing",
)
# Weights of each loss reason at each losing stage; price dominates overall.
LOSS_REASON_WEIGHTS: dict[str, tuple[float, ...]] = {
    "Lead": (0.05, 0.05, 0.10, 0.50, 0.25, 0.05),
    "Qualified": (0.15, 0.10, 0.30, 0.20, 0.15, 0.10),
    "Meeting": (0.30, 0.20, 0.15, 0.10, 0.10, 0.15),
    "Proposal": (0.70, 0.15, 0.08, 0.03, 0.02, 0.02),
    "Negotiation": (0.45, 0.35, 0.05, 0.05, 0.02, 0.08),
}
DOMINANT_LOSS_REASON = "Price too high"

# --- managers -----------------------------------------------------------------------------

TEAMS: tuple[str, ...] = ("North", "South", "Central")
MANAGERS_PER_TEAM = 4
FIRST_EXTENSION = 101  # manager n answers calls on extension 100 + n

# --- channels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    name: str
    medium: str
    sources: tuple[str, ...]
    platform: str | None  # ad platform that bills for it, None for free traffic
    acquisition_weight: float  # share of new customers first acquired here
    target_romi: float | None  # planted ROMI (order-channel attribution), None if unpaid


CHANNELS: tuple[Channel, ...] = (
    Channel("Paid Search", "cpc", ("google", "yandex"), "search_ads", 0.28, 1.8),
    Channel("Paid Social", "paid_social", ("facebook", "instagram"), "meta_ads", 0.15, 0.6),
    Channel("Display", "display", ("mytarget",), "mytarget", 0.12, -0.55),
    Channel("Email", "email", ("newsletter",), "unisender", 0.08, 7.5),
    Channel("Organic Search", "organic", ("google", "yandex"), None, 0.20, None),
    Channel("Referral", "referral", ("partner-blog", "marketplace"), None, 0.07, None),
    Channel("Direct", "(none)", ("(direct)",), None, 0.10, None),
)
NEGATIVE_ROMI_CHANNEL = "Display"
BEST_ROMI_CHANNEL = "Email"
# Ad platforms and the channel and source each one bills for.
PLATFORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "google_ads": ("Paid Search", ("google",)),
    "yandex_direct": ("Paid Search", ("yandex",)),
    "meta_ads": ("Paid Social", ("facebook", "instagram")),
    "mytarget": ("Display", ("mytarget",)),
    "unisender": ("Email", ("newsletter",)),
}
# Meta bills in dollars: its reports are in USD, converted at this rate (ads/fx_rates.csv).
META_CURRENCY, META_RATE = "USD", 100.0
CAMPAIGN_THEMES: tuple[str, ...] = (
    "brand",
    "laptops",
    "smartphones",
    "home_office",
    "black_friday",
    "back_to_school",
    "new_year",
)

# --- customers ----------------------------------------------------------------------------

SEGMENTS: tuple[str, ...] = ("Retail", "Small business", "Corporate")
SEGMENT_WEIGHTS = (0.70, 0.22, 0.08)
# Opportunities (deals or online orders) per year, dropout after a purchase, order size.
SEGMENT_RATE = {"Retail": 9.0, "Small business": 12.5, "Corporate": 17.0}
SEGMENT_QUANTITY = {"Retail": 1.0, "Small business": 2.0, "Corporate": 4.0}
SEGMENT_SALES_SHARE = {"Retail": 0.55, "Small business": 0.85, "Corporate": 0.97}
CLV_TOP_SEGMENT = "Corporate"
# Customers with a bad service experience (low CSAT) drop out far more often.
CHURN_DRIVER = "csat"
BAD_EXPERIENCE_SHARE = 0.15
DROPOUT_GOOD = 0.10
DROPOUT_BAD = 0.55
# Customers' loyalty by the channel that first brought them: the dropout after a purchase is
# multiplied by this (1 for channels not named), so first-year value differs by channel.
ACQUISITION_DROPOUT_FACTOR = {"Referral": 0.4, "Email": 0.5, "Paid Social": 2.0, "Display": 2.0}
MAX_DROPOUT = 0.95

GENDERS = ("female", "male")
INCOME_BANDS = ("<30k", "30-60k", "60-100k", "100-200k", ">200k")
EDUCATION_LEVELS = ("secondary", "vocational", "bachelor", "master", "doctorate")
# Planted personas: (name, share of customers, age range at sign-up in years, income band
# weights, education weights). Demographics only: a customer's buying does not depend on
# the persona, so every other planted effect stays as it was.
PERSONAS: tuple[tuple[str, float, tuple[int, int], tuple, tuple], ...] = (
    ("Young starters", 0.30, (18, 27), (0.70, 0.25, 0.05, 0, 0), (0.60, 0.10, 0.30, 0, 0)),
    ("Established professionals", 0.25, (38, 52), (0, 0, 0.2, 0.6, 0.2), (0, 0, 0.25, 0.65, 0.1)),
    ("Skilled trades", 0.25, (28, 45), (0.05, 0.75, 0.20, 0, 0), (0.05, 0.90, 0.05, 0, 0)),
    ("Seniors", 0.20, (60, 72), (0.10, 0.35, 0.45, 0.10, 0), (0.20, 0.15, 0.45, 0.20, 0)),
)

# region, city, IANA time zone, weight, country code, is Russian-speaking
REGIONS: tuple[tuple[str, str, str, float, str], ...] = (
    ("Moscow", "Moscow", "Europe/Moscow", 0.32, "RU"),
    ("Saint Petersburg", "Saint Petersburg", "Europe/Moscow", 0.16, "RU"),
    ("Sverdlovsk Oblast", "Yekaterinburg", "Asia/Yekaterinburg", 0.08, "RU"),
    ("Novosibirsk Oblast", "Novosibirsk", "Asia/Novosibirsk", 0.07, "RU"),
    ("Tatarstan", "Kazan", "Europe/Moscow", 0.07, "RU"),
    ("Krasnodar Krai", "Krasnodar", "Europe/Moscow", 0.07, "RU"),
    ("Primorsky Krai", "Vladivostok", "Asia/Vladivostok", 0.04, "RU"),
    ("Samara Oblast", "Samara", "Europe/Samara", 0.05, "RU"),
    ("England", "London", "Europe/London", 0.06, "GB"),
    ("Berlin", "Berlin", "Europe/Berlin", 0.04, "DE"),
    ("Almaty", "Almaty", "Asia/Almaty", 0.04, "KZ"),
)
# Which team owns customers of each country (Russian regions split by geography).
TEAM_OF_REGION = {
    "Moscow": "Central",
    "Saint Petersburg": "North",
    "Sverdlovsk Oblast": "North",
    "Novosibirsk Oblast": "North",
    "Tatarstan": "Central",
    "Krasnodar Krai": "South",
    "Primorsky Krai": "North",
    "Samara Oblast": "South",
    "England": "Central",
    "Berlin": "Central",
    "Almaty": "South",
}

# --- products -----------------------------------------------------------------------------

# category -> (product line names, price range in RUB)
CATALOG: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "Laptops": (
        (
            "Aurora 14",
            "Aurora 16",
            "Vector Pro",
            "Vector Air",
            "Nimbus 13",
            "Nimbus X",
            "Orbit 15",
            "Orbit Go",
            "Titan 17",
            "Quill 14",
        ),
        (45000, 180000),
    ),
    "Smartphones": (
        (
            "Pulse S",
            "Pulse Max",
            "Nova Lite",
            "Nova 5G",
            "Astra One",
            "Astra Mini",
            "Zephyr",
            "Zephyr Plus",
            "Kite",
            "Kite Pro",
        ),
        (12000, 110000),
    ),
    "Tablets": (("Slate 10", "Slate 12", "Pad Lite", "Pad Pro", "Canvas"), (15000, 90000)),
    "Audio": (
        (
            "Echo Buds",
            "Echo Buds Pro",
            "Bass Cube",
            "Studio Over-Ear",
            "Beam Soundbar",
            "Pocket Speaker",
            "Podcast Mic",
            "Nord Headset",
        ),
        (2500, 35000),
    ),
    "Accessories": (
        (
            "Laptop Sleeve 14",
            "Laptop Backpack",
            "USB-C Hub",
            "Wireless Mouse",
            "Mechanical Keyboard",
            "Phone Case",
            "Screen Protector",
            "Fast Charger 65W",
            "Power Bank 20000",
            "HDMI Cable",
            "Webcam HD",
            "Laptop Stand",
            "Stylus Pen",
            "Tablet Cover",
            "Cable Organizer",
        ),
        (500, 9000),
    ),
    "Office equipment": (
        (
            "Laser Printer M1",
            "Inkjet Printer C3",
            "Toner Cartridge M1",
            "Ink Set C3",
            "Document Scanner",
            "Label Printer",
            "Paper Shredder",
            "Projector Lumen",
        ),
        (3000, 60000),
    ),
    "Home appliances": (
        (
            "Coffee Machine Barista",
            "Coffee Beans 1kg",
            "Robot Vacuum",
            "Air Purifier",
            "Electric Kettle",
            "Smart Lamp",
            "Vacuum Filter Set",
            "Water Filter Jug",
        ),
        (800, 55000),
    ),
    "Software": (
        ("Office Suite 1y", "Antivirus 1y", "Cloud Backup 1y", "VPN 1y", "Photo Editor"),
        (1500, 12000),
    ),
}
# Planted baskets: (anchor product name, companion product name). When an order holds the
# anchor, the companion is added with this probability; both are otherwise rare, so the
# pair's lift is high.
BASKET_PAIRS: tuple[tuple[str, str], ...] = (
    ("Laser Printer M1", "Toner Cartridge M1"),
    ("Coffee Machine Barista", "Coffee Beans 1kg"),
    ("Robot Vacuum", "Vacuum Filter Set"),
    ("Slate 12", "Stylus Pen"),
)
BASKET_COMPANION_PROBABILITY = 0.7
# Planted follow-ups: (product, follow-up). A customer who bought the product adds the
# follow-up to their next order with this probability. Follow-ups are otherwise rarely
# bought, so "customers who bought X later bought Y" is there to learn, and "the most
# popular products" misses it.
FOLLOW_UPS: tuple[tuple[str, str], ...] = (
    ("Aurora 14", "Laptop Sleeve 14"),
    ("Aurora 16", "Laptop Backpack"),
    ("Vector Pro", "Laptop Stand"),
    ("Vector Air", "USB-C Hub"),
    ("Nimbus 13", "Wireless Mouse"),
    ("Titan 17", "Mechanical Keyboard"),
    ("Pulse Max", "Screen Protector"),
    ("Nova 5G", "Phone Case"),
    ("Astra One", "Fast Charger 65W"),
    ("Zephyr Plus", "Power Bank 20000"),
    ("Pad Pro", "Tablet Cover"),
    ("Inkjet Printer C3", "Ink Set C3"),
    ("Nimbus X", "HDMI Cable"),
    ("Orbit 15", "Webcam HD"),
    ("Orbit Go", "Cable Organizer"),
    ("Quill 14", "Antivirus 1y"),
    ("Kite Pro", "VPN 1y"),
    ("Canvas", "Photo Editor"),
)
FOLLOW_UP_PROBABILITY = 0.8
# Planted CRM campaigns sent to existing customers, each randomised into treatment and a
# holdout: (name, type, send day as a share of the history, response window in days,
# chance a treated customer of each segment places an extra order because of it). The
# newsletter does nothing. Members: a share of the customers who exist and have not
# cancelled on the send day.
MEMBER_CAMPAIGNS: tuple[tuple[str, str, float, int, dict[str, float]], ...] = (
    ("CRM · win-back offer", "win-back", 0.55, 30,
     {"Retail": 0.25, "Small business": 0.10, "Corporate": 0.03}),
    ("CRM · accessories cross-sell", "cross-sell", 0.70, 30,
     {"Retail": 0.04, "Small business": 0.12, "Corporate": 0.30}),
    ("CRM · monthly newsletter", "newsletter", 0.85, 30,
     {"Retail": 0.0, "Small business": 0.0, "Corporate": 0.0}),
)  # fmt: skip
MEMBER_SHARE = 0.6
HOLDOUT_SHARE = 0.2
MEMBER_PLATFORM = "crm"  # sent by the CRM itself: no ad platform bills for it

# --- call center --------------------------------------------------------------------------

CALL_CENTER_TZ = "Europe/Moscow"
# Share of calls starting in each local hour (08..20); 11 is the planted peak.
CALL_HOUR_WEIGHTS: dict[int, float] = {
    8: 2,
    9: 6,
    10: 10,
    11: 14,
    12: 11,
    13: 9,
    14: 10,
    15: 10,
    16: 9,
    17: 8,
    18: 6,
    19: 3,
    20: 2,
}
PEAK_CALL_HOUR = 11
# Probability that an inbound call is not answered, by hour; 13 (lunch) is the worst.
MISSED_RATE_BASE = 0.08
MISSED_RATE_BY_HOUR = {8: 0.14, 13: 0.36, 19: 0.13, 20: 0.15}
WORST_MISSED_HOUR = 13
COMPANY_NUMBER = "74951234567"

# --- website ------------------------------------------------------------------------------

SITE_HOST = "shop.example.ru"
MOST_ENGAGING_PAGE = "/blog/how-to-choose-a-laptop"
# page path, page title, relative popularity, median engagement seconds per view
CONTENT_PAGES: tuple[tuple[str, str, float, float], ...] = (
    ("/", "Home", 30.0, 12.0),
    ("/catalog/laptops", "Laptops", 12.0, 25.0),
    ("/catalog/smartphones", "Smartphones", 11.0, 24.0),
    ("/catalog/accessories", "Accessories", 7.0, 18.0),
    ("/catalog/office", "Office equipment", 4.0, 20.0),
    ("/catalog/home", "Home appliances", 4.0, 20.0),
    ("/promo/black-friday", "Black Friday deals", 4.0, 30.0),
    ("/blog/how-to-choose-a-laptop", "How to choose a laptop", 5.0, 170.0),
    ("/blog/smartphone-camera-test", "Smartphone camera test", 3.0, 75.0),
    ("/blog/home-office-setup", "Home office setup", 3.0, 60.0),
    ("/delivery", "Delivery and payment", 5.0, 35.0),
    ("/contacts", "Contacts", 4.0, 15.0),
    ("/cart", "Cart", 6.0, 20.0),
)


@dataclass(frozen=True)
class Volumes:
    """How many of each thing to generate at a scale (scale 1 = the issue's sizes)."""

    customers: int
    anonymous_visitors: int
    calls: int
    web_sessions: int

    @classmethod
    def at(cls, scale: float) -> Volumes:
        if scale <= 0:
            raise ValueError(f"--scale must be positive, got {scale}")
        return cls(
            customers=max(200, round(20_000 * scale)),
            anonymous_visitors=max(300, round(45_000 * scale)),
            calls=max(1_000, round(300_000 * scale)),
            web_sessions=max(1_500, round(120_000 * scale)),
        )
