"""The demo's world: its markets (money, language, clock, platforms, places, peaks), industries and initiatives."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from models.enums import Language, Platform
from tasks.market_calendar import black_friday

PLATFORM_CTR: dict[Platform, tuple[float, float]] = {
    Platform.GOOGLE_ADS: (0.03, 0.07),
    Platform.META: (0.008, 0.015),
    Platform.YANDEX_DIRECT: (0.02, 0.05),
    Platform.VK: (0.005, 0.012),
    Platform.OCEAN_ENGINE: (0.01, 0.03),
}
# (strategy, what the bid means): one strategy per account, so its campaigns' bids compare.
PLATFORM_STRATEGIES: dict[Platform, tuple[tuple[str, str], ...]] = {
    Platform.GOOGLE_ADS: (("target_cpa", "cpa"), ("manual_cpc", "cpc")),
    Platform.META: (("cost_cap", "cpa"), ("bid_cap", "cpa")),
    Platform.YANDEX_DIRECT: (("average_cpa", "cpa"), ("manual_cpc", "cpc")),
    Platform.VK: (("cost_cap", "cpa"), ("max_cpc", "cpc")),
    Platform.OCEAN_ENGINE: (("ocpm", "cpa"), ("ocpc", "cpa")),
}
PLATFORM_LABEL = {
    Platform.GOOGLE_ADS: "Google Ads",
    Platform.META: "Meta",
    Platform.YANDEX_DIRECT: "Яндекс Директ",
    Platform.VK: "VK Реклама",
    Platform.OCEAN_ENGINE: "巨量引擎",
}


@dataclass(frozen=True)
class Market:
    """What a market fixes for the clients in it: money, language, clock, platforms, places."""

    code: str
    currency: str
    language: Language
    zones: tuple[str, ...]
    hours: tuple[dt.time, dt.time]
    platforms: tuple[Platform, ...]
    fx: float
    cost: float
    scale: float
    team: str
    country: str
    regions: tuple[tuple[str, str], ...]


MARKETS: dict[str, Market] = {
    "CN": Market(
        "CN",
        "CNY",
        Language.ZH,
        ("Asia/Shanghai",),
        (dt.time(9, 30), dt.time(18, 30)),
        (Platform.OCEAN_ENGINE, Platform.OCEAN_ENGINE, Platform.OCEAN_ENGINE, Platform.GOOGLE_ADS),
        7.2,
        0.6,
        1.0,
        "greater-china",
        "全国",
        (
            ("CN-SH", "上海"),
            ("CN-BJ", "北京"),
            ("CN-GD", "广东"),
            ("CN-ZJ", "浙江"),
            ("CN-JS", "江苏"),
            ("CN-SC", "四川"),
        ),
    ),
    "RU": Market(
        "RU",
        "RUB",
        Language.RU,
        ("Europe/Moscow", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"),
        (dt.time(10, 0), dt.time(19, 0)),
        (Platform.YANDEX_DIRECT, Platform.VK),
        92.0,
        0.5,
        0.6,
        "cis",
        "Вся Россия",
        (
            ("RU-MOW", "Москва"),
            ("RU-SPE", "Санкт-Петербург"),
            ("RU-SVE", "Свердловская область"),
            ("RU-NVS", "Новосибирская область"),
            ("RU-TA", "Татарстан"),
            ("RU-KDA", "Краснодарский край"),
        ),
    ),
    "KZ": Market(
        "KZ",
        "KZT",
        Language.RU,
        ("Asia/Almaty",),
        (dt.time(9, 0), dt.time(18, 0)),
        (Platform.GOOGLE_ADS, Platform.META, Platform.YANDEX_DIRECT),
        490.0,
        0.35,
        0.35,
        "cis",
        "Весь Казахстан",
        (("KZ-75", "Алматы"), ("KZ-71", "Астана"), ("KZ-79", "Шымкент")),
    ),
    "US": Market(
        "US",
        "USD",
        Language.EN,
        ("America/New_York", "America/Chicago", "America/Los_Angeles"),
        (dt.time(9, 0), dt.time(17, 0)),
        (Platform.GOOGLE_ADS, Platform.META),
        1.0,
        1.0,
        1.2,
        "international",
        "United States",
        (
            ("US-CA", "California"),
            ("US-NY", "New York"),
            ("US-TX", "Texas"),
            ("US-FL", "Florida"),
            ("US-IL", "Illinois"),
            ("US-WA", "Washington"),
        ),
    ),
    "GB": Market(
        "GB",
        "GBP",
        Language.EN,
        ("Europe/London",),
        (dt.time(9, 0), dt.time(17, 30)),
        (Platform.GOOGLE_ADS, Platform.META),
        0.79,
        0.95,
        0.9,
        "international",
        "United Kingdom",
        (
            ("GB-LND", "London"),
            ("GB-MAN", "Manchester"),
            ("GB-BIR", "Birmingham"),
            ("GB-EDH", "Edinburgh"),
            ("GB-GLG", "Glasgow"),
            ("GB-BST", "Bristol"),
        ),
    ),
    "DE": Market(
        "DE",
        "EUR",
        Language.EN,
        ("Europe/Berlin",),
        (dt.time(8, 30), dt.time(17, 0)),
        (Platform.GOOGLE_ADS, Platform.META),
        0.92,
        0.9,
        0.9,
        "international",
        "Deutschland",
        (
            ("DE-BE", "Berlin"),
            ("DE-BY", "Bayern"),
            ("DE-HH", "Hamburg"),
            ("DE-NW", "Nordrhein-Westfalen"),
            ("DE-HE", "Hessen"),
            ("DE-BW", "Baden-Württemberg"),
        ),
    ),
}
MARKET_INDEX = {code: i for i, code in enumerate(MARKETS)}
MARKET_WEIGHTS = {"CN": 0.30, "RU": 0.20, "US": 0.15, "GB": 0.15, "DE": 0.10, "KZ": 0.10}
TEAMS: dict[str, tuple[str, Language, str]] = {
    # team: (its time zone, its working language, whose director it reports to)
    "greater-china": ("Asia/Shanghai", Language.ZH, "east"),
    "cis": ("Europe/Moscow", Language.RU, "west"),
    "international": ("Europe/London", Language.EN, "west"),
}

CONSUMER_WEEK = (0.94, 0.93, 0.95, 0.98, 1.03, 1.10, 1.07)
CONSIDERED_WEEK = (1.08, 1.09, 1.07, 1.04, 0.98, 0.85, 0.89)


@dataclass(frozen=True)
class Industry:
    """An industry's economics in US dollars, its week and how much the market peaks move it."""

    name: str
    cpa_usd: float
    cpc_usd: float
    roas: float
    week: tuple[float, ...]
    peak_sensitivity: float
    goals: tuple[tuple[str, str, str, str], ...]


INDUSTRIES: tuple[Industry, ...] = (
    Industry(
        "retail",
        15,
        0.50,
        4.0,
        CONSUMER_WEEK,
        1.0,
        (("purchase", "购买", "Покупка", "Purchase"), ("store_visit", "到店", "Визит в магазин", "Store visit")),
    ),
    Industry(
        "e-commerce",
        12,
        0.45,
        3.5,
        CONSUMER_WEEK,
        1.2,
        (("purchase", "购买", "Покупка", "Purchase"), ("add_to_cart", "加购", "Корзина", "Add to cart")),
    ),
    Industry(
        "education",
        25,
        1.20,
        2.5,
        CONSIDERED_WEEK,
        0.3,
        (("lead_form", "表单", "Заявка", "Lead"), ("trial_class", "试听课", "Пробный урок", "Trial class")),
    ),
    Industry(
        "auto",
        35,
        0.90,
        6.0,
        CONSIDERED_WEEK,
        0.3,
        (("test_drive", "试驾预约", "Тест-драйв", "Test drive"), ("lead_form", "表单", "Заявка", "Lead")),
    ),
    Industry(
        "finance",
        40,
        1.80,
        3.0,
        CONSIDERED_WEEK,
        0.2,
        (
            ("application", "申请", "Заявка на кредит", "Application"),
            ("account_open", "开户", "Открытие счёта", "Account opening"),
        ),
    ),
    Industry(
        "gaming",
        4,
        0.25,
        2.0,
        (0.92, 0.91, 0.93, 0.96, 1.06, 1.13, 1.09),
        0.5,
        (
            ("app_install", "下载", "Установка", "Install"),
            ("first_purchase", "首充", "Первая покупка", "First purchase"),
        ),
    ),
    Industry(
        "travel",
        20,
        0.60,
        5.0,
        (1.06, 1.03, 1.00, 0.98, 0.93, 0.96, 1.04),
        0.4,
        (("booking", "预订", "Бронирование", "Booking"),),
    ),
    Industry(
        "fmcg",
        8,
        0.30,
        3.0,
        CONSUMER_WEEK,
        0.9,
        (("coupon", "领券", "Купон", "Coupon"), ("purchase", "购买", "Покупка", "Purchase")),
    ),
    Industry(
        "real-estate",
        45,
        1.10,
        10.0,
        CONSIDERED_WEEK,
        0.2,
        (("viewing", "看房预约", "Запись на просмотр", "Viewing request"), ("lead_form", "表单", "Заявка", "Lead")),
    ),
    Industry(
        "healthcare",
        30,
        1.30,
        3.0,
        CONSIDERED_WEEK,
        0.2,
        (("appointment", "挂号预约", "Запись на приём", "Appointment"),),
    ),
)
INDUSTRY = {industry.name: industry for industry in INDUSTRIES}

INITIATIVES = ("brand", "performance", "retargeting", "new-product-launch")
INITIATIVE_WEIGHTS = (0.2, 0.45, 0.2, 0.15)
INITIATIVE_CUMULATIVE = np.cumsum(INITIATIVE_WEIGHTS)
SEASONAL_INITIATIVES = {
    "CN": ("618", "double-11"),
    "RU": ("black-friday", "8-march"),
    "KZ": ("8-march",),
    "US": ("black-friday", "christmas"),
    "GB": ("black-friday", "christmas"),
    "DE": ("black-friday", "christmas"),
}


SERVICES = ("search", "social", "feeds", "video", "creative", "kol", "analytics", "marketplace")


# Spring Festival (Chinese New Year's Day); outside these years the CN holiday dip is left out.
SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
}


def peak_curves(first_day: dt.date, n_days: int) -> np.ndarray:
    """Per market (in MARKETS order), the demand multiplier its shopping peaks and holidays put on each day."""
    curves = np.ones((len(MARKETS), n_days))
    last_day = first_day + dt.timedelta(days=n_days - 1)

    def ramp(row: int, start: dt.date, end: dt.date, low: float, high: float) -> None:
        length = max((end - start).days, 1)
        for offset in range(length + 1):
            index = (start - first_day).days + offset
            if 0 <= index < n_days:
                curves[row, index] = low + (high - low) * (offset / length) ** 2

    def flat(row: int, start: dt.date, end: dt.date, level: float) -> None:
        ramp(row, start, end, level, level)

    rows = {code: i for i, code in enumerate(MARKETS)}
    for year in range(first_day.year, last_day.year + 1):
        cn = rows["CN"]
        ramp(cn, dt.date(year, 6, 1), dt.date(year, 6, 18), 1.3, 2.0)
        ramp(cn, dt.date(year, 10, 20), dt.date(year, 11, 11), 1.3, 2.2)
        if year in SPRING_FESTIVAL:
            festival = SPRING_FESTIVAL[year]
            flat(cn, festival - dt.timedelta(days=3), festival + dt.timedelta(days=6), 0.65)
        bf = black_friday(year)
        for code in ("RU", "KZ"):
            ramp(rows[code], dt.date(year, 3, 1), dt.date(year, 3, 7), 1.2, 1.6)
            flat(rows[code], dt.date(year, 3, 8), dt.date(year, 3, 8), 1.1)
        ramp(rows["RU"], bf - dt.timedelta(days=6), bf, 1.2, 1.5)
        flat(rows["RU"], bf + dt.timedelta(days=1), bf + dt.timedelta(days=3), 1.3)
        flat(rows["RU"], dt.date(year, 1, 1), dt.date(year, 1, 8), 0.7)
        flat(rows["KZ"], dt.date(year, 1, 1), dt.date(year, 1, 2), 0.8)
        for code in ("US", "GB", "DE"):
            ramp(rows[code], bf - dt.timedelta(days=7), bf, 1.2, 2.0)
            flat(rows[code], bf + dt.timedelta(days=1), bf + dt.timedelta(days=3), 1.8)
            ramp(rows[code], dt.date(year, 12, 1), dt.date(year, 12, 22), 1.1, 1.5)
            flat(rows[code], dt.date(year, 12, 24), dt.date(year, 12, 26), 0.7)
            flat(rows[code], dt.date(year, 12, 27), dt.date(year, 12, 31), 0.9)
    return curves
