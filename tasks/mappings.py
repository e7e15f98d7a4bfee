"""Which export headers mean which canonical field, per platform, in English, Russian and Chinese."""

from __future__ import annotations

FIELDS: tuple[str, ...] = (
    "day",
    "campaign_id",
    "campaign_name",
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "conversion_value",
)
METRICS: tuple[str, ...] = ("impressions", "clicks", "spend", "conversions", "conversion_value")
INTEGER_METRICS: frozenset[str] = frozenset({"impressions", "clicks"})

# Aliases are written normalised (lower case, single spaces); a trailing currency note such as
# "(USD)", "(руб.)", "(元)" or ", ₽" is stripped from the header before the second matching pass.
# Within a field, earlier aliases win when a file has several matching columns.
PLATFORM_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "google_ads": {
        "day": ("day", "date"),
        "campaign_id": ("campaign id",),
        "campaign_name": ("campaign", "campaign name"),
        "impressions": ("impr.", "impressions", "impr"),
        "clicks": ("clicks",),
        "spend": ("cost", "spend"),
        "conversions": ("conversions", "conv."),
        "conversion_value": ("conv. value", "conversion value", "total conv. value"),
    },
    "meta": {
        "day": ("day", "date", "reporting starts"),
        "campaign_id": ("campaign id",),
        "campaign_name": ("campaign name", "campaign"),
        "impressions": ("impressions",),
        "clicks": ("link clicks", "clicks (all)", "clicks"),
        "spend": ("amount spent", "spend"),
        "conversions": ("purchases", "results", "website purchases", "conversions"),
        "conversion_value": (
            "purchases conversion value",
            "website purchases conversion value",
            "purchase conversion value",
            "conversion value",
        ),
    },
    "yandex_direct": {
        "day": ("дата", "день", "date", "day"),
        "campaign_id": ("№ кампании", "id кампании", "номер кампании", "campaign id", "campaignid"),
        "campaign_name": ("кампания", "название кампании", "campaign", "campaignname"),
        "impressions": ("показы", "impressions"),
        "clicks": ("клики", "clicks"),
        "spend": ("расход", "расход всего", "cost"),
        "conversions": ("конверсии", "conversions"),
        "conversion_value": ("доход", "ценность конверсий", "revenue"),
    },
    "vk": {
        "day": ("дата", "день", "date", "day"),
        "campaign_id": ("id кампании", "№ кампании", "campaign id"),
        "campaign_name": ("кампания", "название кампании", "campaign", "campaign name"),
        "impressions": ("показы", "shows", "impressions"),
        "clicks": ("клики", "clicks"),
        "spend": ("потрачено", "расход", "списания", "spent", "spend"),
        "conversions": ("конверсии", "результат", "результаты", "conversions", "results"),
        "conversion_value": ("доход", "ценность конверсий", "conversion value", "revenue"),
    },
    "ocean_engine": {
        "day": ("日期", "时间", "date", "stat_datetime"),
        "campaign_id": ("计划id", "广告计划id", "campaign id"),
        "campaign_name": ("计划名称", "广告计划", "广告计划名称", "广告组", "广告组名称", "campaign", "campaign name"),
        "impressions": ("展示数", "展现数", "展示次数", "展示量", "impressions", "show_cnt"),
        "clicks": ("点击数", "点击次数", "点击量", "clicks", "click_cnt"),
        "spend": ("消耗", "花费", "总花费", "cost", "stat_cost"),
        "conversions": ("转化数", "转化量", "conversions", "convert_cnt"),
        "conversion_value": ("转化价值", "成交金额", "付费金额", "conversion value"),
    },
}

# `generic` is every platform's aliases, Google Ads and Meta first because their English headers are the most common.
_GENERIC_ORDER = ("google_ads", "meta", "yandex_direct", "vk", "ocean_engine")
PLATFORM_ALIASES["generic"] = {
    field: tuple(dict.fromkeys(a for p in _GENERIC_ORDER for a in PLATFORM_ALIASES[p][field])) for field in FIELDS
}

# Breakdown columns: when a file has one, its rows are summed to one figure per campaign and day.
SEGMENT_ALIASES: frozenset[str] = frozenset({
    "device", "network", "network (with search partners)", "ad group", "ad group id", "ad group name",
    "ad set name", "ad set id", "ad name", "ad id", "ad", "keyword", "search keyword", "search term",
    "region", "country", "city", "age", "gender", "placement", "platform", "publisher platform",
    "device platform", "impression device", "hour", "hour of day", "top vs. other", "click type",
    "устройство", "тип устройства", "группа", "группа объявлений", "название группы", "№ группы",
    "id группы", "объявление", "№ объявления", "id объявления", "ключевая фраза", "условие показа",
    "регион", "регион таргетинга", "регион местонахождения", "город", "пол", "возраст", "площадка",
    "тип площадки", "место показа", "час", "объявления",
    "设备", "平台", "广告位", "地域", "省份", "城市", "年龄", "性别", "创意", "创意id", "单元",
    "关键词", "小时", "版位",
    "banner", "banner size", "creative", "creative name", "audience", "target audience", "interest", "placement name",
    "баннер", "креатив", "аудитория", "сегмент аудитории", "受众", "定向", "素材",
})

# The end of the period a row covers: when it is not the row's day, the row is not a daily figure
# (Meta exports one row per campaign for the whole range unless broken down by day).
PERIOD_END_ALIASES: tuple[str, ...] = (
    "reporting ends", "end date", "date end", "дата окончания", "конец периода", "结束日期",
)

# Day or campaign cells that mark a totals line. A word must fill the cell or go on with ":", "-" or "("
# ("Total: Account", not the campaign "Total Recall"); a prefix may go on with anything ("Итого по кампаниям").
SUMMARY_WORDS: tuple[str, ...] = ("total", "totals", "grand total", "всего", "summary")
SUMMARY_PREFIXES: tuple[str, ...] = ("итого", "总计", "合计", "汇总", "小计")
SUMMARY_DASHES: frozenset[str] = frozenset({"--", "—", "–"})

# Whether a date like 03/04/2026 is day-first when nothing in the column decides it.
DAY_FIRST_DEFAULT: dict[str, bool] = {
    "generic": True,
    "google_ads": False,
    "meta": False,
    "yandex_direct": True,
    "vk": True,
    "ocean_engine": True,
}

# What `--map "HEADER=ROLE"` may name besides a field: a breakdown column summed over, or a column to leave out.
MAP_ROLES: tuple[str, ...] = ("segment", "ignore")

# A month column beside a day column that holds only days of the month (1-31): with --year they make the date.
MONTH_ALIASES: tuple[str, ...] = ("month", "месяц", "月份", "月")

# A column that says which currency the money columns are in ("Currency code" in Google Ads exports).
CURRENCY_COLUMN_ALIASES: tuple[str, ...] = ("currency", "currency code", "валюта", "货币", "币种")

# Currency notes in headers ("Cost (EUR)", "Расход, руб.", "花费（元）") and money cells ("€1.20"): what they
# may mean. A symbol shared by several currencies ("$", "¥") only disagrees with an account in none of them.
CURRENCY_NOTES: dict[str, frozenset[str]] = {
    "руб": frozenset({"RUB"}), "руб.": frozenset({"RUB"}), "р.": frozenset({"RUB"}), "₽": frozenset({"RUB"}),
    "rur": frozenset({"RUB"}), "元": frozenset({"CNY"}), "人民币": frozenset({"CNY"}), "rmb": frozenset({"CNY"}),
    "€": frozenset({"EUR"}), "£": frozenset({"GBP"}), "₹": frozenset({"INR"}), "₩": frozenset({"KRW"}),
    "₺": frozenset({"TRY"}), "₴": frozenset({"UAH"}), "₸": frozenset({"KZT"}), "₫": frozenset({"VND"}),
    "฿": frozenset({"THB"}), "¥": frozenset({"CNY", "JPY"}), "￥": frozenset({"CNY", "JPY"}),
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "TWD", "MXN"}),
    "us$": frozenset({"USD"}), "hk$": frozenset({"HKD"}), "c$": frozenset({"CAD"}), "a$": frozenset({"AUD"}),
}
