"""Pure generation of the demo agency: its people, clients, accounts, service record and daily metrics."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np

from models.enums import (
    Channel,
    ContactRole,
    Detail,
    Direction,
    EntityStatus,
    KeyDateKind,
    Language,
    NoteKind,
    Platform,
    RequestStatus,
    StaffRole,
    Tier,
    Tone,
)
from models.service import default_visibility
from tasks.client_check import CONTROL_SLUG
from tasks.errors import CadenceError
from tasks.market_calendar import black_friday, fixed, next_on_or_after

UTC = dt.UTC
CAMPAIGNS_PER_CHUNK = 500
MIN_DAYS_WITH_PROBLEMS = 42
MIN_CLIENTS_WITH_PROBLEMS = 4
# Every campaign converts at least this many times a day on average, so a zero-conversion day means something.
MIN_CONVERSIONS_PER_DAY = 4.0
METRIC_STREAM = 1

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
INITIATIVE_LABEL = {
    # initiative: (zh, ru, en)
    "brand": ("品牌", "Бренд", "Brand"),
    "performance": ("效果", "Перформанс", "Performance"),
    "retargeting": ("再营销", "Ретаргетинг", "Retargeting"),
    "new-product-launch": ("新品上市", "Запуск новинки", "Launch"),
    "618": ("618大促", "618", "618"),
    "double-11": ("双11", "11.11", "Singles Day"),
    "black-friday": ("黑五", "Черная пятница", "Black Friday"),
    "christmas": ("圣诞", "Рождество", "Christmas"),
    "8-march": ("妇女节", "8 Марта", "8 March"),
}
# Each shareable key date's (and launch's) title as zh and ru readers see it; en keeps the stored title.
KEY_DATE_LABEL = {
    "618": ("618年中大促", "Распродажа 618"),
    "双11": ("双11", "Распродажа 11.11"),
    "春节": ("春节", "Китайский Новый год"),
    "8 Марта": ("三八妇女节", "8 Марта"),
    "Черная пятница": ("黑色星期五", "Черная пятница"),
    "Новогодние праздники": ("新年假期", "Новогодние праздники"),
    "Black Friday / Cyber Monday": ("黑色星期五与网络星期一", "Черная пятница и Киберпонедельник"),
    "Christmas shopping season": ("圣诞购物季", "Рождественский сезон покупок"),
    "Weihnachtsgeschäft": ("圣诞购物季", "Рождественский сезон покупок"),
    "Launch: new product line": ("新品上市：新产品线", "Запуск: новая линейка продуктов"),
    "Launch: mobile app 2.0": ("新品上市：移动应用2.0", "Запуск: мобильное приложение 2.0"),
    "Launch: flagship store opening": ("新品上市：旗舰店开业", "Запуск: открытие флагманского магазина"),
    "Launch: spring collection": ("新品上市：春季系列", "Запуск: весенняя коллекция"),
    "Launch: loyalty programme": ("新品上市：会员计划", "Запуск: программа лояльности"),
}
# How the demo names its initiatives in each language (agency-wide display names).
INITIATIVE_NAMES = {
    "brand": ("品牌广告", "Брендинг", "Brand"),
    "performance": ("效果广告", "Перформанс-реклама", "Performance"),
    "retargeting": ("再营销", "Ретаргетинг", "Retargeting"),
    "new-product-launch": ("新品上市", "Запуск новинки", "New product launch"),
    "618": ("618大促", "Распродажа 618", "618 sale"),
    "double-11": ("双11", "Распродажа 11.11", "Singles Day"),
    "black-friday": ("黑色星期五", "Черная пятница", "Black Friday"),
    "christmas": ("圣诞季", "Рождество", "Christmas"),
    "8-march": ("三八妇女节", "8 Марта", "8 March"),
}
SERVICES = ("search", "social", "feeds", "video", "creative", "kol", "analytics", "marketplace")


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """'本地|ascii; ...' as ((local, ascii), ...): names in their own script with the ASCII used for slugs and emails."""
    return tuple((local, ascii_) for local, ascii_ in (item.strip().split("|") for item in text.split(";")))


def _keyed(text: str) -> dict[str, tuple[str, str]]:
    """'key|local|ascii; ...' as {key: (local, ascii)}."""
    return {key: (local, ascii_) for key, local, ascii_ in (item.strip().split("|") for item in text.split(";"))}


CN_CITIES = _pairs(
    "上海|shanghai; 北京|beijing; 深圳|shenzhen; 杭州|hangzhou; 广州|guangzhou; 成都|chengdu; 南京|nanjing; 武汉|wuhan"
)
BRANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "CN": _pairs(
        "星辰|xingchen; 云帆|yunfan; 天禾|tianhe; 锦程|jincheng; 华美|huamei; 蓝鲸|lanjing; 优品|youpin; 悦享|yuexiang; "
        "鼎盛|dingsheng; 嘉禾|jiahe; 恒通|hengtong; 瑞丰|ruifeng; 博雅|boya; 青橙|qingcheng; 极光|jiguang; 乐游|leyou; "
        "安康|ankang; 易达|yida; 明远|mingyuan; 启航|qihang; 万象|wanxiang; 光合|guanghe; 清泉|qingquan; 新禾|xinhe"
    ),
    "RU": _pairs(
        "Вектор|vektor; Горизонт|gorizont; Меридиан|meridian; Сфера|sfera; Альтаир|altair; "
        "Ладога|ladoga; Байкал|baikal; Созвездие|sozvezdie; Простор|prostor; Кедр|kedr; Рубин|rubin; "
        "Орбита|orbita; Заря|zarya; Север|sever; Алмаз|almaz; Волна|volna; Пульс|puls; Атлант|atlant; "
        "Парус|parus; Исток|istok"
    ),
    "KZ": _pairs(
        "Алтын|altyn; Самал|samal; Арман|arman; Жулдыз|zhuldyz; Береке|bereke; Тулпар|tulpar; "
        "Шанырак|shanyrak; Мерей|merei; Асыл|asyl; Дала|dala"
    ),
    "US": _pairs(
        "Harbor|harbor; Summit|summit; Bluepeak|bluepeak; Evergreen|evergreen; Ridgeway|ridgeway; "
        "Lumen|lumen; Cobalt|cobalt; Brightline|brightline; Foxglove|foxglove; Ironwood|ironwood; "
        "Silverline|silverline; Cedar Hill|cedar-hill; Tidewater|tidewater; Prairie|prairie"
    ),
    "GB": _pairs(
        "Kestrel|kestrel; Thistle|thistle; Wren|wren; Marlow|marlow; Ashby|ashby; Hawthorn|hawthorn; "
        "Bramble|bramble; Whitcombe|whitcombe; Larkspur|larkspur; Penrose|penrose; Fenwick|fenwick; "
        "Rowan|rowan"
    ),
    "DE": _pairs(
        "Nordlicht|nordlicht; Bergblick|bergblick; Rheinwerk|rheinwerk; Alpenrose|alpenrose; "
        "Sonnenhof|sonnenhof; Elbstrom|elbstrom; Eichenwald|eichenwald; Lindenhof|lindenhof; "
        "Seeblick|seeblick; Tannenberg|tannenberg; Löwenzahn|loewenzahn; Grünwald|gruenwald"
    ),
}
INDUSTRY_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "zh": _keyed(
        "retail|商贸|shangmao; e-commerce|电子商务|dianshang; education|教育科技|jiaoyu; auto|汽车销售|qiche; "
        "finance|金融服务|jinrong; gaming|互娱科技|huyu; travel|国际旅行社|lvxingshe; fmcg|食品|shipin; "
        "real-estate|置业|zhiye; healthcare|医疗健康|yiliao"
    ),
    "ru": _keyed(
        "retail|Торг|torg; e-commerce|Маркет|market; education|Академия|akademiya; auto|Авто|avto; "
        "finance|Финанс|finans; gaming|Геймс|geims; travel|Тур|tur; fmcg|Продукт|produkt; "
        "real-estate|Девелопмент|development; healthcare|Мед|med"
    ),
    "en": _keyed(
        "retail|Outfitters|outfitters; e-commerce|Direct|direct; education|Learning|learning; "
        "auto|Motors|motors; finance|Capital|capital; gaming|Games|games; travel|Travel|travel; "
        "fmcg|Foods|foods; real-estate|Homes|homes; healthcare|Health|health"
    ),
    "de": _keyed(
        "retail|Handel|handel; e-commerce|Versand|versand; education|Akademie|akademie; "
        "auto|Automobile|automobile; finance|Finanz|finanz; gaming|Spiele|spiele; travel|Reisen|reisen; "
        "fmcg|Feinkost|feinkost; real-estate|Immobilien|immobilien; healthcare|Gesundheit|gesundheit"
    ),
}
CONTROL_NAMES = {
    "CN": "演示对照有限公司",
    "RU": "ООО «Контрольный клиент»",
    "KZ": "ТОО «Контрольный клиент»",
    "US": "Demo Control Inc.",
    "GB": "Demo Control Ltd",
    "DE": "Demo Kontrolle GmbH",
}

CN_SURNAMES = _pairs(
    "王|wang; 李|li; 张|zhang; 刘|liu; 陈|chen; 杨|yang; 赵|zhao; 黄|huang; 周|zhou; 吴|wu; 徐|xu; 孙|sun; 胡|hu; "
    "朱|zhu; 高|gao; 林|lin"
)
CN_GIVEN = _pairs(
    "芳|fang; 伟|wei; 娜|na; 敏|min; 静|jing; 磊|lei; 洋|yang; 婷|ting; 杰|jie; 欣怡|xinyi; 子涵|zihan; "
    "浩然|haoran; 雨萱|yuxuan; 思远|siyuan; 佳琪|jiaqi; 晨|chen"
)
RU_MALE = _pairs(
    "Алексей|aleksey; Дмитрий|dmitry; Иван|ivan; Сергей|sergey; Андрей|andrey; Михаил|mikhail; "
    "Николай|nikolay; Павел|pavel"
)
RU_FEMALE = _pairs(
    "Анна|anna; Мария|maria; Екатерина|ekaterina; Ольга|olga; Наталья|natalya; Елена|elena; "
    "Татьяна|tatyana; Ирина|irina"
)
RU_SURNAMES = _pairs(
    "Иванов|ivanov; Смирнов|smirnov; Кузнецов|kuznetsov; Попов|popov; Соколов|sokolov; "
    "Лебедев|lebedev; Козлов|kozlov; Новиков|novikov; Морозов|morozov; Волков|volkov"
)
KZ_MALE = _pairs("Нурлан|nurlan; Ержан|yerzhan; Данияр|daniyar; Асхат|askhat; Бауыржан|bauyrzhan")
KZ_FEMALE = _pairs("Айгерим|aigerim; Динара|dinara; Жанар|zhanar; Салтанат|saltanat; Асель|assel")
KZ_SURNAMES = _pairs(
    "Ахметов|akhmetov; Жумабаев|zhumabayev; Касымов|kassymov; Омаров|omarov; Абенов|abenov; Нурланов|nurlanov"
)
DE_FIRST = _pairs(
    "Lukas|lukas; Anna|anna; Felix|felix; Laura|laura; Jonas|jonas; Lena|lena; "
    "Maximilian|maximilian; Sophie|sophie; Paul|paul; Marie|marie"
)
DE_LAST = _pairs(
    "Müller|mueller; Schmidt|schmidt; Schneider|schneider; Fischer|fischer; Weber|weber; "
    "Meyer|meyer; Wagner|wagner; Becker|becker; Schulz|schulz; Hoffmann|hoffmann"
)
EN_FIRST = (
    "James",
    "Emily",
    "Michael",
    "Sarah",
    "David",
    "Olivia",
    "Daniel",
    "Sophie",
    "Thomas",
    "Hannah",
    "Ryan",
    "Grace",
)
EN_LAST = (
    "Smith",
    "Johnson",
    "Walker",
    "Taylor",
    "Brown",
    "Clarke",
    "Wright",
    "Evans",
    "Mitchell",
    "Turner",
    "Harris",
    "Bennett",
)

# Which generated first names are women's, for the honorific (Ms/Mr, 女士/先生, Уважаемая/Уважаемый).
CN_FEMALE_GIVEN = {"芳", "娜", "敏", "静", "婷", "欣怡", "子涵", "雨萱", "佳琪"}
DE_FEMALE_FIRST = {"Anna", "Laura", "Lena", "Sophie", "Marie"}
EN_FEMALE_FIRST = {"Emily", "Sarah", "Olivia", "Sophie", "Hannah", "Grace"}
# Father's name -> (son's, daughter's) patronymic.
PATRONYMICS = {
    "Алексей": ("Алексеевич", "Алексеевна"), "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Иван": ("Иванович", "Ивановна"), "Сергей": ("Сергеевич", "Сергеевна"), "Андрей": ("Андреевич", "Андреевна"),
    "Михаил": ("Михайлович", "Михайловна"), "Николай": ("Николаевич", "Николаевна"),
    "Павел": ("Павлович", "Павловна"), "Нурлан": ("Нурланович", "Нурлановна"),
    "Ержан": ("Ержанович", "Ержановна"), "Данияр": ("Даниярович", "Данияровна"),
    "Асхат": ("Асхатович", "Асхатовна"), "Бауыржан": ("Бауыржанович", "Бауыржановна"),
}

NOTE_TEMPLATES: dict[Language, tuple[tuple[str, str], ...]] = {
    Language.EN: (
        ("Raised the bid on {campaign} by {pct}%", "volume was below plan while CPA stayed inside the band"),
        ("Lowered the bid on {campaign} by {pct}%", "CPA drifted towards the top of the acceptable range"),
        ("Paused {n} ad groups with no conversions", "they spent for a week without converting"),
        ("Narrowed geo targeting on {campaign}", "the outer regions converted at twice the CPA"),
        ("Refreshed creatives on {campaign}", "CTR had declined for two weeks"),
        ("Added negative keywords", "the search terms report showed irrelevant queries"),
        ("Shifted {pct}% of budget to retargeting", "to test how much more volume retargeting can take"),
        ("Built a lookalike audience from top customers", "to find more buyers like the best ones"),
    ),
    Language.ZH: (
        ("将「{campaign}」出价上调{pct}%", "量级低于计划，成本仍在客户可接受范围内"),
        ("将「{campaign}」出价下调{pct}%", "成本接近可接受范围上限"),
        ("暂停{n}个无转化的广告组", "连续一周只有消耗没有转化"),
        ("收窄「{campaign}」的地域定向", "偏远地区转化成本是平均的两倍"),
        ("更换「{campaign}」的创意素材", "点击率连续两周下降"),
        ("添加否定关键词", "搜索词报告显示不相关流量"),
        ("将{pct}%预算转移到再营销", "测试再营销能否承接更多量级"),
        ("基于高价值客户新建相似人群包", "扩大与优质客户相似的人群"),
    ),
    Language.RU: (
        ("Повысили ставку в кампании «{campaign}» на {pct}%", "объём ниже плана, а CPA в допустимом диапазоне"),
        ("Снизили ставку в кампании «{campaign}» на {pct}%", "CPA приблизилась к верхней границе диапазона"),
        ("Отключили {n} групп объявлений без конверсий", "неделю тратили бюджет без конверсий"),
        ("Сузили геотаргетинг в кампании «{campaign}»", "в отдалённых регионах CPA вдвое выше"),
        ("Обновили креативы в кампании «{campaign}»", "CTR снижался две недели"),
        ("Добавили минус-слова", "в поисковых запросах много нецелевого трафика"),
        ("Перенесли {pct}% бюджета на ретаргетинг", "проверяем, сколько ещё объёма даст ретаргетинг"),
        ("Настроили look-alike аудиторию по лучшим клиентам", "чтобы найти больше похожих покупателей"),
    ),
}
REFRESH_NOTE = {
    Language.EN: (
        "Refreshed creatives on {campaign}",
        "volume stayed far below budget; new creatives did not help yet",
    ),
    Language.ZH: ("更换「{campaign}」的创意素材", "消耗远低于预算，换素材后仍未起量"),
    Language.RU: (
        "Обновили креативы в кампании «{campaign}»",
        "расход сильно ниже бюджета; новые креативы пока не помогли",
    ),
}
MARKET_NOTES: dict[Language, tuple[tuple[NoteKind, str, str], ...]] = {
    Language.EN: (
        (NoteKind.MARKET, "Category search demand up year over year", "seen in platform trend data"),
        (NoteKind.COMPETITOR, "A main competitor doubled its promo discounts", "their ads now lead with price"),
        (NoteKind.MARKET, "CPCs in the category rose ahead of the peak", "auction pressure from new entrants"),
    ),
    Language.ZH: (
        (NoteKind.MARKET, "品类搜索热度同比上升", "来自平台趋势数据"),
        (NoteKind.COMPETITOR, "主要竞品加大促销力度，折扣翻倍", "竞品广告主打价格"),
        (NoteKind.MARKET, "大促前品类点击成本上涨", "新进入者加剧竞价"),
    ),
    Language.RU: (
        (NoteKind.MARKET, "Спрос в категории вырос год к году", "по данным трендов площадки"),
        (NoteKind.COMPETITOR, "Основной конкурент удвоил скидки", "их объявления теперь про цену"),
        (NoteKind.MARKET, "Перед сезоном выросла стоимость клика в категории", "в аукцион зашли новые игроки"),
    ),
}
OUTBOUND_SUMMARIES: dict[Language, tuple[str, ...]] = {
    Language.EN: (
        "Sent the weekly performance update",
        "Shared next week's optimisation plan",
        "Asked to approve the new creatives",
        "Called to discuss next month's budget",
        "Sent the monthly recap and highlights",
        "Followed up on the landing-page fix",
    ),
    Language.ZH: (
        "发送本周投放数据周报",
        "同步下周优化计划",
        "请客户确认新创意素材",
        "电话沟通下月预算",
        "发送月度复盘与亮点",
        "跟进落地页修改进度",
    ),
    Language.RU: (
        "Отправили еженедельный отчёт по результатам",
        "Поделились планом оптимизации на неделю",
        "Попросили согласовать новые креативы",
        "Созвонились по бюджету на следующий месяц",
        "Отправили ежемесячный отчёт с выводами",
        "Уточнили статус правок посадочной страницы",
    ),
}
INBOUND_SUMMARIES: dict[Language, tuple[str, ...]] = {
    Language.EN: (
        "Asked why CPA went up last week",
        "Approved the new creatives",
        "Asked for a plan for the next sales peak",
        "Confirmed next month's budget",
        "Shared a new product feed",
        "Asked for a call about results",
    ),
    Language.ZH: (
        "询问上周成本为何上涨",
        "确认了新创意素材",
        "要求提供下一次大促投放方案",
        "确认下月预算",
        "提供了新品商品库",
        "希望约电话沟通效果",
    ),
    Language.RU: (
        "Спросили, почему выросла CPA на прошлой неделе",
        "Согласовали новые креативы",
        "Попросили план на ближайший сезонный пик",
        "Подтвердили бюджет на следующий месяц",
        "Прислали новый товарный фид",
        "Попросили созвониться по результатам",
    ),
}
REQUEST_TITLES: dict[Language, tuple[str, ...]] = {
    Language.EN: (
        "Plan for the next sales peak",
        "Add the new product line to campaigns",
        "Explain last week's CPA increase",
        "Prepare a competitor overview",
        "Change the monthly report format",
        "Set up conversion tracking on the new site",
    ),
    Language.ZH: (
        "下一次大促投放方案",
        "新品线加入投放计划",
        "解释上周成本上涨原因",
        "准备竞品分析",
        "调整月报格式",
        "新网站转化跟踪配置",
    ),
    Language.RU: (
        "План на ближайший сезонный пик",
        "Добавить новую товарную линейку в кампании",
        "Объяснить рост CPA на прошлой неделе",
        "Подготовить обзор конкурентов",
        "Изменить формат ежемесячного отчёта",
        "Настроить отслеживание конверсий на новом сайте",
    ),
}
LAUNCH_TITLES = (
    "new product line",
    "mobile app 2.0",
    "flagship store opening",
    "spring collection",
    "loyalty programme",
)

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

# Problem codes carried per campaign into the metric generator.
NONE, SWC, CPA_HIGH, UNDERDELIVERY, LAUNCH_GEO, LAUNCH_GOAL, SPIKE, DROP, TRACKING, COLLAPSE, PAUSED = range(11)
CAMPAIGN_PROBLEMS = (
    ("spend_without_conversions", None, SWC),
    ("cpa_above_band", None, CPA_HIGH),
    ("underdelivery_low_bid", None, UNDERDELIVERY),
    ("launch_guard", "no_geo", LAUNCH_GEO),
    ("launch_guard", "no_goal", LAUNCH_GOAL),
    ("anomaly", "spike", SPIKE),
    ("anomaly", "drop", DROP),
)
ACCOUNT_PROBLEMS = (
    ("tracking_broken", None, TRACKING),
    ("churn_signal", "collapse", COLLAPSE),
    ("churn_signal", "paused_by_client", PAUSED),
)
PACING = {"overspend": 1.5, "underspend": 0.45}


@dataclass(frozen=True)
class CampaignParams:
    """Per-campaign generation parameters as aligned arrays; index = campaign key."""

    client: np.ndarray
    market: np.ndarray
    base_spend: np.ndarray
    cpa: np.ndarray
    cpa_max: np.ndarray
    cpc: np.ndarray
    ctr: np.ndarray
    roas: np.ndarray
    budget: np.ndarray
    week: np.ndarray
    growth: np.ndarray
    peak_sensitivity: np.ndarray
    sigma: np.ndarray
    has_goal: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    problem: np.ndarray


@dataclass(frozen=True)
class AgencyPlan:
    """Everything the demo agency holds except its metrics, with rows referring to each other by key."""

    seed: int
    as_of: dt.date
    first_day: dt.date
    last_day: dt.date
    staff: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    params: CampaignParams
    curves: np.ndarray
    key_dates: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    service_cases: list[dict[str, Any]]
    pacing: np.ndarray
    display_names: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def day_of_week(self) -> np.ndarray:
        return (self.first_day.weekday() + np.arange(self.n_days)) % 7

    @property
    def month_start_index(self) -> int:
        return max(0, (self.last_day.replace(day=1) - self.first_day).days)


@dataclass(frozen=True)
class MetricChunk:
    """Daily metric rows for a run of campaigns (campaign key, day index, values) plus their month-to-date spend."""

    campaign: np.ndarray
    day: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    spend: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray
    month_to_date: np.ndarray
    campaigns_done: int

    def __len__(self) -> int:
        return len(self.campaign)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo's own cache keeps only a few zones alive; without this each call rereads the zone file.
    return ZoneInfo(name)


def at_local(day: dt.date, time: dt.time, zone: str) -> dt.datetime:
    """The UTC instant of a wall-clock time in a zone."""
    return dt.datetime.combine(day, time, tzinfo=_zone(zone)).astimezone(UTC)


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def nice(value: float, digits: int = 2) -> float:
    """`value` rounded to `digits` significant figures, as budgets are set."""
    if value <= 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return round(value / step) * step


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


def _pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _unique(candidate: str, taken: dict[str, None]) -> str:
    value, n = candidate, 2
    while value in taken:
        value, n = f"{candidate}{n}", n + 1
    taken[value] = None
    return value


def person(market: str, rng: np.random.Generator) -> tuple[str, str]:
    """A name that looks real in `market`, and an ASCII `first.last` for its email."""
    name, local, _parts = person_parts(market, rng)
    return name, local


def _patronymic(local: str, female: bool, fathers: tuple[str, ...]) -> str | None:
    """A patronymic for most Russian-speaking contacts, drawn from a hash of the name so the rng stream is unchanged."""
    draw = int(hashlib.sha256(local.encode()).hexdigest()[:8], 16)
    if draw % 10 >= 7:
        return None
    father = fathers[draw // 10 % len(fathers)]
    return PATRONYMICS[father][1 if female else 0]


def person_parts(market: str, rng: np.random.Generator) -> tuple[str, str, dict[str, str | None]]:
    """`person`, plus the name's parts as a contact stores them: given, family, patronymic, honorific."""
    if market == "CN":
        (surname, s_ascii), (given, g_ascii) = _pick(rng, CN_SURNAMES), _pick(rng, CN_GIVEN)
        honorific = "ms" if given in CN_FEMALE_GIVEN else "mr"
        return surname + given, f"{s_ascii}.{g_ascii}", {"given_name": given, "family_name": surname,
                                                          "patronymic": None, "honorific": honorific}
    if market in ("RU", "KZ"):
        female = bool(rng.random() < 0.5)
        if market == "RU":
            first = _pick(rng, RU_FEMALE if female else RU_MALE)
            last = _pick(rng, RU_SURNAMES)
        else:
            first = _pick(rng, KZ_FEMALE if female else KZ_MALE)
            last = _pick(rng, KZ_SURNAMES)
        surname, s_ascii = (last[0] + "а", last[1] + "a") if female else last
        local = f"{first[1]}.{s_ascii}"
        fathers = tuple(n for n, _ in (RU_MALE if market == "RU" else KZ_MALE))
        return f"{first[0]} {surname}", local, {"given_name": first[0], "family_name": surname,
                                                "patronymic": _patronymic(local, female, fathers),
                                                "honorific": "ms" if female else "mr"}
    if market == "DE":
        first, last = _pick(rng, DE_FIRST), _pick(rng, DE_LAST)
        honorific = "ms" if first[0] in DE_FEMALE_FIRST else "mr"
        return f"{first[0]} {last[0]}", f"{first[1]}.{last[1]}", {"given_name": first[0], "family_name": last[0],
                                                                  "patronymic": None, "honorific": honorific}
    first, last = _pick(rng, EN_FIRST), _pick(rng, EN_LAST)
    honorific = "ms" if first in EN_FEMALE_FIRST else "mr"
    return f"{first} {last}", f"{first.lower()}.{last.lower()}", {"given_name": first, "family_name": last,
                                                                  "patronymic": None, "honorific": honorific}


def company(market: str, industry: str, rng: np.random.Generator, slugs: dict[str, None]) -> tuple[str, str]:
    """A company name for `market` in its own script, and a unique ASCII slug."""
    brand, brand_ascii = _pick(rng, BRANDS[market])
    words = {"CN": "zh", "RU": "ru", "KZ": "ru", "DE": "de"}.get(market, "en")
    word, word_ascii = INDUSTRY_WORDS[words][industry]
    if market == "CN":
        city, city_ascii = _pick(rng, CN_CITIES)
        name = f"{city}{brand}{word}有限公司"
        slug = f"{brand_ascii}-{word_ascii}"
        if slug in slugs:
            slug = f"{city_ascii}-{slug}"
    elif market in ("RU", "KZ"):
        name = f"{'ООО' if market == 'RU' else 'ТОО'} «{brand} {word}»"
        slug = f"{brand_ascii}-{word_ascii}"
    else:
        suffix = {"US": "Inc.", "GB": "Ltd", "DE": "GmbH"}[market]
        name = f"{brand} {word} {suffix}"
        slug = f"{brand_ascii}-{word_ascii}"
    if slug in slugs:
        slug = f"{slug}-{market.lower()}"
    return name, _unique(slug, slugs)


def phone(market: str, rng: np.random.Generator) -> str:
    """A phone number in the market's format, from fictional ranges where the market has them."""

    def d(n: int) -> str:
        return "".join(str(int(x)) for x in rng.integers(0, 10, n))

    return {
        "CN": lambda: f"+86 13{d(1)} {d(4)} {d(4)}",
        "RU": lambda: f"+7 9{d(2)} {d(3)}-{d(2)}-{d(2)}",
        "KZ": lambda: f"+7 70{_pick(rng, ('1', '5', '7'))} {d(3)} {d(2)} {d(2)}",
        "US": lambda: f"+1 {_pick(rng, ('212', '312', '415', '512', '206', '305'))} 555-01{d(2)}",
        "GB": lambda: f"+44 20 7946 0{d(3)}",
        "DE": lambda: f"+49 30 5550{d(4)}",
    }[market]()


class _Ids:
    """External ids in each platform's shape, unique across the agency."""

    SHAPES: ClassVar[dict[Platform, tuple[int, int]]] = {
        Platform.GOOGLE_ADS: (10, 11),
        Platform.META: (15, 18),
        Platform.YANDEX_DIRECT: (8, 9),
        Platform.VK: (8, 9),
        Platform.OCEAN_ENGINE: (16, 16),
    }

    def __init__(self, rng: np.random.Generator) -> None:
        self.next: dict[tuple[Platform, str], int] = {}
        self.stride: dict[tuple[Platform, str], int] = {}
        for platform, (account_digits, campaign_digits) in self.SHAPES.items():
            for kind, digits in (("account", account_digits), ("campaign", campaign_digits)):
                # A prime stride makes consecutive ids look unrelated; the headroom fits 300,000 of them.
                stride = 7919 if digits >= 10 else 37
                self.stride[(platform, kind)] = stride
                self.next[(platform, kind)] = int(rng.integers(10 ** (digits - 1), 10**digits - 300_000 * stride))

    def take(self, platform: Platform, kind: str) -> str:
        number = self.next[(platform, kind)]
        self.next[(platform, kind)] = number + self.stride[(platform, kind)]
        text = str(number)
        if kind == "account":
            if platform is Platform.GOOGLE_ADS:
                return f"{text[:3]}-{text[3:6]}-{text[6:]}"
            if platform is Platform.META:
                return f"act_{text}"
        return text


def _validate(clients: int, days: int, campaigns_per_client: int | None, inject_problems: bool) -> None:
    if clients < 1:
        raise CadenceError(f"the demo needs at least one client, got {clients}")
    if days < 1:
        raise CadenceError(f"the demo needs at least one day of metrics, got {days}")
    if campaigns_per_client is not None and campaigns_per_client < 1:
        raise CadenceError(f"campaigns per client must be at least 1, got {campaigns_per_client}")
    if inject_problems and clients < MIN_CLIENTS_WITH_PROBLEMS:
        raise CadenceError(f"injecting every problem needs at least {MIN_CLIENTS_WITH_PROBLEMS} clients, got {clients}")
    if inject_problems and days < MIN_DAYS_WITH_PROBLEMS:
        raise CadenceError(f"injecting every problem needs at least {MIN_DAYS_WITH_PROBLEMS} days, got {days}")


def _draw_markets(rng: np.random.Generator, n: int) -> list[str]:
    codes = list(MARKET_WEIGHTS)
    weights = np.array(list(MARKET_WEIGHTS.values()))
    # One of each market first, so even a small agency speaks all three languages.
    drawn = codes[:n] + [codes[i] for i in rng.choice(len(codes), size=max(0, n - len(codes)), p=weights)]
    return [drawn[i] for i in rng.permutation(n)]


def _draw_industries(rng: np.random.Generator, n: int) -> list[str]:
    names = [INDUSTRIES[i].name for i in rng.permutation(len(INDUSTRIES))]
    drawn = names[:n] + [names[i] for i in rng.integers(0, len(names), max(0, n - len(names)))]
    return [drawn[i] for i in rng.permutation(n)]


def _draw_tiers(rng: np.random.Generator, n: int) -> list[Tier]:
    strategic, potential = round(0.2 * n), round(0.3 * n)
    tiers = [Tier.STRATEGIC] * strategic + [Tier.POTENTIAL] * potential + [Tier.REGULAR] * (n - strategic - potential)
    return [tiers[i] for i in rng.permutation(n)]


def _roles(n: int, inject_problems: bool) -> list[dict[str, Any]]:
    """Which client is the control, which pace badly, and which host each injected problem."""
    roles: list[dict[str, Any]] = [{"control": False, "pacing": None, "problems": []} for _ in range(n)]
    roles[0]["control"] = True
    if not inject_problems:
        return roles
    roles[1]["pacing"] = "overspend"
    roles[2]["pacing"] = "underspend"
    hosts = list(range(3, n))
    for i, problem in enumerate(CAMPAIGN_PROBLEMS + ACCOUNT_PROBLEMS):
        roles[hosts[i % len(hosts)]]["problems"].append(problem)
    return roles


def _plan_staff(
    rng: np.random.Generator, markets: list[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[int]]]]:
    """Directors, team leads, AMs and optimisers per team, sized to the team's clients, plus one ops."""
    staff: list[dict[str, Any]] = []
    emails: dict[str, None] = {}
    teams: dict[str, dict[str, list[int]]] = {}
    directors: dict[str, int] = {}
    name_market = {"greater-china": "CN", "cis": "RU", "international": "US"}

    def hire(role: StaffRole, team: str, manager: int | None, zone: str, language: Language, market: str) -> int:
        name, local = person(market, rng)
        staff.append(
            {
                "key": len(staff),
                "email": _unique(local, emails) + "@agency.example",
                "name": name,
                "role": role,
                "team": team,
                "language": language,
                "time_zone": zone,
                "manager_key": manager,
                "is_active": True,
            }
        )
        return len(staff) - 1

    def member(role: StaffRole, team: str, manager: int) -> int:
        zone, language, _ = TEAMS[team]
        market = name_market[team]
        if team == "international" and rng.random() < 0.3:
            market = "DE"
        elif team == "cis" and rng.random() < 0.25:
            market = "KZ"
        return hire(role, team, manager, zone, language, market)

    for team, (_, _, director_of) in TEAMS.items():
        n_clients = sum(1 for m in markets if MARKETS[m].team == team)
        if not n_clients:
            continue
        if director_of not in directors:
            directors[director_of] = (
                hire(StaffRole.DIRECTOR, "leadership", None, "Asia/Shanghai", Language.ZH, "CN")
                if director_of == "east"
                else hire(StaffRole.DIRECTOR, "leadership", None, "Europe/London", Language.EN, "GB")
            )
        director = directors[director_of]
        n_am = max(1, math.ceil(n_clients / 6))
        leads = [member(StaffRole.TEAM_LEAD, team, director) for _ in range(max(1, math.ceil(n_am / 8)))]
        ams = [member(StaffRole.AM, team, leads[i // 8]) for i in range(n_am)]
        optimisers = [
            member(StaffRole.OPTIMISER, team, leads[i % len(leads)]) for i in range(max(1, math.ceil(n_clients / 5)))
        ]
        teams[team] = {"director": [director], "leads": leads, "ams": ams, "optimisers": optimisers}
    hire(StaffRole.OPS, "ops", None, "Asia/Shanghai", Language.ZH, "CN")
    return staff, teams


def _geo(market: Market, u: float, order: np.ndarray) -> list[str]:
    """A whole country a quarter of the time, else one to three of its regions, from uniform draws."""
    if u < 0.25:
        return [market.code]
    n = len(market.regions)
    count = 1 + min(int((u - 0.25) / 0.75 * min(3, n)), min(3, n) - 1)
    return [market.regions[int(i)][0] for i in sorted(np.argsort(order[:n])[:count])]


def _campaign_name(
    market: Market, initiative: str, goal: tuple[str, str, str, str], geo: list[str], number: int
) -> str:
    regions = dict(market.regions)
    place = regions.get(geo[0], market.country) if geo else market.country
    zh, ru, en = INITIATIVE_LABEL[initiative]
    if market.language is Language.ZH:
        return f"{zh}-{goal[1]}-{place}-{number:02d}"
    if market.language is Language.RU:
        return f"{ru} | {goal[2]} | {place} | {number:02d}"
    return f"{en} - {goal[3]} - {place} - {number:02d}"


@dataclass
class _Builder:
    """Accumulates accounts and campaigns (rows and generation parameters) while clients are planned."""

    rng: np.random.Generator
    ids: _Ids
    first_day: dt.date
    last_day: dt.date
    accounts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    params: dict[str, list[Any]]

    @property
    def n_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def index(self, day: dt.date) -> int:
        return (day - self.first_day).days

    def account(self, client: dict[str, Any], platform: Platform, created_on: dt.date, label: str) -> dict[str, Any]:
        strategy, unit = _pick(self.rng, PLATFORM_STRATEGIES[platform])
        row = {
            "key": len(self.accounts),
            "client_key": client["key"],
            "platform": platform,
            "external_id": self.ids.take(platform, "account"),
            "name": f"{client['short']} · {PLATFORM_LABEL[platform]} · {label}",
            "currency": client["currency"],
            "time_zone": client["time_zone"],
            "status": EntityStatus.ACTIVE,
            "paused_by_client_at": None,
            "created_on": created_on,
            "_strategy": (strategy, unit),
        }
        self.accounts.append(row)
        return row

    def campaign(
        self,
        client: dict[str, Any],
        account: dict[str, Any],
        econ: dict[str, Any],
        *,
        spend: float,
        created_on: dt.date,
        number: int,
        initiative: str | None = None,
        problem: int = NONE,
        stop: int | None = None,
        steady: bool = False,
    ) -> dict[str, Any]:
        market, industry = MARKETS[client["market"]], INDUSTRY[client["industry"]]
        # One draw per campaign: numpy's per-call overhead, not arithmetic, is what 100,000 campaigns cost.
        u, z = self.rng.random(20), self.rng.standard_normal(2)
        if initiative is None:
            seasonal = SEASONAL_INITIATIVES[market.code]
            if not steady and u[0] < 0.15:
                initiative = seasonal[int(u[1] * len(seasonal))]
            else:
                initiative = INITIATIVES[min(int(np.searchsorted(INITIATIVE_CUMULATIVE, u[1])), len(INITIATIVES) - 1)]
        goal = industry.goals[int(u[2] * len(industry.goals))]
        geo = _geo(market, u[3], u[4:10])
        cpa = econ["cpa"] * (0.97 + 0.06 * u[10] if steady else 0.88 + 0.24 * u[10])
        cpc = min(econ["cpc"] * math.exp(0.1 * z[0]), 0.5 * cpa)
        spend = max(spend, MIN_CONVERSIONS_PER_DAY * cpa)
        budget = nice(spend * (1.25 + 0.35 * u[11]))
        strategy, unit = account["_strategy"]
        bid = cpa * (0.9 + 0.2 * u[12]) if unit == "cpa" else cpc * (1.1 + 0.4 * u[12])
        # Planted problems ignore market peaks, so their shape holds whatever day as_of falls on.
        sensitivity = 0.0 if steady or problem != NONE else industry.peak_sensitivity * econ["peak_jitter"]
        if initiative in ("618", "double-11", "black-friday", "christmas", "8-march"):
            sensitivity *= 1.6
        start = max(0, self.index(created_on))
        stop = self.n_days if stop is None else stop
        edited_at = None
        if not steady and problem == NONE and u[13] < 0.3:
            edited = self.last_day - dt.timedelta(days=2 + int(u[14] * 58))
            if edited > created_on:
                edited_at = at_local(edited, dt.time(10 + int(u[15] * 8), int(u[16] * 60)), client["time_zone"])
        low, high = PLATFORM_CTR[account["platform"]]
        row = {
            "key": len(self.campaigns),
            "account_key": account["key"],
            "external_id": self.ids.take(account["platform"], "campaign"),
            "name": _campaign_name(market, initiative, goal, geo, number),
            "status": EntityStatus.ACTIVE if stop >= self.n_days else EntityStatus.PAUSED,
            "daily_budget": money(budget),
            "bid": Decimal(f"{bid:.2f}"),
            "bid_strategy": strategy,
            "geo_targeting": geo,
            "conversion_goal": goal[0],
            "initiative": initiative,
            "created_on": created_on,
            "edited_at": edited_at,
        }
        self.campaigns.append(row)
        p = self.params
        p["client"].append(client["key"])
        p["market"].append(MARKET_INDEX[market.code])
        p["base_spend"].append(spend)
        p["cpa"].append(cpa)
        p["cpa_max"].append(econ["cpa_max"])
        p["cpc"].append(cpc)
        p["ctr"].append(low + (high - low) * u[17])
        p["roas"].append(econ["roas"] * math.exp(0.08 * z[1]))
        p["budget"].append(budget)
        p["week"].append(econ["week"])
        p["growth"].append(econ["growth"])
        p["peak_sensitivity"].append(sensitivity)
        p["sigma"].append(0.04 if steady else 0.07 + 0.05 * u[18])
        p["has_goal"].append(1.0)
        p["start"].append(start)
        p["stop"].append(stop)
        p["problem"].append(problem)
        return row


def _economics(client: dict[str, Any], rng: np.random.Generator, steady: bool, growth: float) -> dict[str, Any]:
    """A client's unit economics in its own currency and the weekly shape of its demand."""
    market, industry = MARKETS[client["market"]], INDUSTRY[client["industry"]]
    cpa = industry.cpa_usd * market.cost * market.fx * float(rng.lognormal(0, 0.2))
    cpc = industry.cpc_usd * market.cost * market.fx * float(rng.lognormal(0, 0.15))
    week = np.array(industry.week) * (1 if steady else rng.uniform(0.98, 1.02, 7))
    daily = {Tier.STRATEGIC: (4000, 20000), Tier.POTENTIAL: (1000, 4500), Tier.REGULAR: (250, 1200)}[client["tier"]]
    return {
        "cpa": cpa,
        "cpc": cpc,
        "cpa_min": float(cpa * 0.7),
        "cpa_max": float(cpa * 1.4),
        "roas": industry.roas * float(rng.lognormal(0, 0.15)),
        "week": week / week.mean(),
        "growth": 0.0 if steady else growth,
        "peak_jitter": float(rng.uniform(0.8, 1.2)),
        "daily_spend": float(np.exp(rng.uniform(*np.log(daily)))) * market.scale * market.fx,
    }


def _plan_clients(
    rng: np.random.Generator,
    *,
    as_of: dt.date,
    first_day: dt.date,
    n: int,
    campaigns_per_client: int | None,
    inject_problems: bool,
    staff_teams: dict[str, dict[str, list[int]]],
    markets: list[str],
    industries: list[str],
    tiers: list[Tier],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], _Builder, list[dict[str, Any]], np.ndarray]:
    """Clients with their contacts, accounts and campaigns, and the problems planted among them."""
    last_day = as_of - dt.timedelta(days=1)
    build = _Builder(rng, _Ids(rng), first_day, last_day, [], [], {f: [] for f in CampaignParams.__dataclass_fields__})
    roles = _roles(n, inject_problems)
    slugs: dict[str, None] = {CONTROL_SLUG: None}
    clients: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    pacing = np.ones(n)
    # Spread rather than drawn: even a small agency has clients growing and shrinking year over year.
    growths = rng.permutation(np.linspace(-0.25, 0.4, n)) + rng.uniform(-0.02, 0.02, n)
    round_robin: dict[str, int] = {}
    for key in range(n):
        role, market, industry, tier = roles[key], MARKETS[markets[key]], industries[key], tiers[key]
        special = role["control"] or role["pacing"] or role["problems"]
        team = staff_teams[market.team]
        turn = round_robin.get(market.team, 0)
        round_robin[market.team] = turn + 1
        am = team["ams"][turn % len(team["ams"])]
        years = {Tier.STRATEGIC: (2.0, 6.0), Tier.POTENTIAL: (0.5, 2.5), Tier.REGULAR: (0.2, 5.0)}[tier]
        start = as_of - dt.timedelta(days=int(rng.uniform(*years) * 365))
        if special:
            start = min(start, first_day - dt.timedelta(days=30 + int(rng.integers(0, 200))))
        if role["control"]:
            name, slug = CONTROL_NAMES[market.code], CONTROL_SLUG
        else:
            name, slug = company(market.code, industry, rng, slugs)
        zone = _pick(rng, market.zones)
        services = sorted(
            rng.choice(
                len(SERVICES),
                size={Tier.STRATEGIC: 4, Tier.POTENTIAL: 3, Tier.REGULAR: 1}[tier] + int(rng.integers(0, 2)),
                replace=False,
            )
        )
        client = {
            "key": key,
            "slug": slug,
            "name": name,
            "short": name if market.code != "CN" else name.removesuffix("有限公司")[2:],
            "industry": industry,
            "market": market.code,
            "time_zone": zone,
            "business_hours_start": market.hours[0],
            "business_hours_end": market.hours[1],
            "currency": market.currency,
            "tier": tier,
            "tier_override": None,
            "services": [SERVICES[int(i)] for i in services],
            "cooperation_start": start,
            "owner_am_key": am,
            "team_lead_key": team["leads"][(team["ams"].index(am)) // 8],
            "director_key": team["director"][0],
            "created_at": at_local(start, dt.time(9, 0), zone),
            # The control client is the agency's own test account: swept like any other, never written to.
            "is_test": bool(role["control"]),
        }
        if market.code in ("RU", "KZ"):
            client["short"] = name.split("«", 1)[-1].rstrip("»")
        econ = _economics(client, rng, steady=role["control"], growth=float(growths[key]))
        client.update(
            {
                "cpa_min": Decimal(f"{econ['cpa_min']:.0f}") if econ["cpa_min"] >= 10 else money(econ["cpa_min"]),
                "cpa_max": Decimal(f"{econ['cpa_max']:.0f}") if econ["cpa_max"] >= 10 else money(econ["cpa_max"]),
                "target_roas": Decimal(f"{econ['roas'] * rng.uniform(0.8, 0.95):.2f}"),
                "monthly_budget": None,
            }
        )
        # The stored band is what detectors read; keep generation on the same edges.
        econ["cpa_min"], econ["cpa_max"] = float(client["cpa_min"]), float(client["cpa_max"])
        if role["pacing"]:
            pacing[key] = PACING[role["pacing"]] * rng.uniform(0.97, 1.03)
        elif not role["control"]:
            pacing[key] = rng.uniform(0.92, 1.06)
        clients.append(client)
        contacts.extend(_contacts(client, rng, len(contacts)))
        _plan_accounts(build, client, econ, campaigns_per_client, steady=role["control"])
        for problem in role["problems"]:
            problems.append(_plant(build, client, econ, problem))
        if role["pacing"]:
            main = next(a for a in build.accounts if a["client_key"] == key)
            problems.append(
                {
                    "detector": "budget_pacing",
                    "variant": role["pacing"],
                    "client": slug,
                    "account": main["external_id"],
                    "campaign": None,
                }
            )
    # One explicit override, as an AM would set for a small client with a big strategic upside.
    overridden = next((c for c in clients[1:] if c["tier"] is Tier.REGULAR), None)
    if overridden is not None:
        overridden["tier_override"] = Tier.POTENTIAL
    return clients, contacts, build, problems, pacing


def _contacts(client: dict[str, Any], rng: np.random.Generator, first_key: int) -> list[dict[str, Any]]:
    market = MARKETS[client["market"]]
    count = {Tier.STRATEGIC: (2, 3), Tier.POTENTIAL: (2, 2), Tier.REGULAR: (1, 2)}[client["tier"]]
    emails: dict[str, None] = {}
    rows = []
    for i in range(int(rng.integers(count[0], count[1] + 1))):
        role = ContactRole.DECISION_MAKER if i == 0 else ContactRole.OPERATOR
        name, local, parts = person_parts(market.code, rng)
        if market.code == "CN":
            channel = Channel.WECHAT if role is ContactRole.OPERATOR or rng.random() < 0.5 else Channel.EMAIL
        elif market.code in ("RU", "KZ"):
            channel = (
                Channel.TELEGRAM
                if role is ContactRole.OPERATOR
                else _pick(rng, (Channel.EMAIL, Channel.PHONE, Channel.TELEGRAM))
            )
        else:
            channel = _pick(rng, (Channel.EMAIL, Channel.EMAIL, Channel.EMAIL, Channel.PHONE, Channel.MESSENGER))
        handle = local.replace(".", "_")
        messenger = {
            Channel.WECHAT: f"wxid_{handle}",
            Channel.TELEGRAM: f"@{handle}",
            Channel.MESSENGER: f"slack:{local}",
        }.get(channel)
        zone = client["time_zone"] if rng.random() < 0.85 else _pick(rng, market.zones)
        rows.append(
            {
                "key": first_key + len(rows),
                "client_key": client["key"],
                "name": name,
                **parts,
                "email": f"{_unique(local, emails)}@{client['slug']}.example",
                "role": role,
                "language": market.language,
                "tone": (Tone.FORMAL if rng.random() < 0.8 else Tone.FRIENDLY)
                if role is ContactRole.DECISION_MAKER
                else (Tone.FRIENDLY if rng.random() < 0.7 else Tone.FORMAL),
                "detail": Detail.SUMMARY if role is ContactRole.DECISION_MAKER else Detail.CAMPAIGN,
                "channel": channel,
                "time_zone": zone,
                "business_hours_start": None,
                "business_hours_end": None,
                "phone": phone(market.code, rng),
                "messenger": messenger,
                "is_active": True,
            }
        )
    return rows


def _plan_accounts(
    build: _Builder, client: dict[str, Any], econ: dict[str, Any], campaigns_per_client: int | None, *, steady: bool
) -> None:
    rng, market = build.rng, MARKETS[client["market"]]
    n_accounts = int(
        rng.integers(*{Tier.STRATEGIC: (2, 4), Tier.POTENTIAL: (1, 3), Tier.REGULAR: (1, 3)}[client["tier"]])
    )
    per_account = {Tier.STRATEGIC: (4, 7), Tier.POTENTIAL: (3, 6), Tier.REGULAR: (2, 5)}[client["tier"]]
    if campaigns_per_client is not None:
        n_accounts = min(n_accounts, campaigns_per_client)
        counts = [
            campaigns_per_client // n_accounts + (i < campaigns_per_client % n_accounts) for i in range(n_accounts)
        ]
    else:
        counts = [int(rng.integers(*per_account)) for _ in range(n_accounts)]
    shares = rng.dirichlet(np.full(sum(counts), 2.0))
    cooperation = client["cooperation_start"]
    latest = build.last_day - dt.timedelta(days=60)
    number = 0
    for a, count in enumerate(counts):
        platform = market.platforms[0] if a == 0 else _pick(rng, market.platforms)
        opened = min(cooperation + dt.timedelta(days=int(rng.integers(0, 21))), latest)
        if steady:
            opened = min(opened, build.first_day - dt.timedelta(days=14))
        account = build.account(
            client, platform, opened, "主账户" if a == 0 and market.code == "CN" else f"{a + 1:02d}"
        )
        for c in range(count):
            created = opened + dt.timedelta(days=int(rng.integers(0, 10)))
            if not steady and rng.random() < 0.2 and build.n_days > 120:
                created = max(created, build.first_day + dt.timedelta(days=int(rng.integers(0, build.n_days - 60))))
            stop = None
            earliest, latest_stop = max(build.index(created) + 30, 30), build.n_days - 60
            # Paused long ago, so no detector mistakes it for something that happened this month.
            if not steady and c > 0 and earliest < latest_stop and rng.random() < 0.08:
                stop = int(rng.integers(earliest, latest_stop))
            build.campaign(
                client,
                account,
                econ,
                spend=float(shares[number]) * econ["daily_spend"],
                created_on=created,
                number=number + 1,
                stop=stop,
                steady=steady,
            )
            number += 1


def _plant(
    build: _Builder, client: dict[str, Any], econ: dict[str, Any], problem: tuple[str, str | None, int]
) -> dict[str, Any]:
    """Add the dedicated campaign or account that carries one injected problem, and describe it."""
    detector, variant, code = problem
    rng, last_day = build.rng, build.last_day
    long_ago = build.first_day - dt.timedelta(days=7)
    main = next(a for a in build.accounts if a["client_key"] == client["key"])
    number = sum(1 for c in build.campaigns if build.accounts[c["account_key"]]["client_key"] == client["key"]) + 1
    if code in (TRACKING, COLLAPSE, PAUSED):
        label = f"{sum(1 for a in build.accounts if a['client_key'] == client['key']) + 1:02d}"
        account = build.account(client, main["platform"], long_ago - dt.timedelta(days=30), label)
        for i in range(int(rng.integers(2, 4))):
            build.campaign(
                client,
                account,
                econ,
                spend=econ["cpa"] * rng.uniform(8, 20),
                created_on=long_ago,
                number=number + i,
                initiative=_pick(rng, INITIATIVES),
                problem=code,
            )
        if code == PAUSED:
            account["status"] = EntityStatus.PAUSED
            account["paused_by_client_at"] = at_local(last_day, dt.time(20, 30), client["time_zone"])
        return {
            "detector": detector,
            "variant": variant,
            "client": client["slug"],
            "account": account["external_id"],
            "campaign": None,
        }
    bids = [float(c["bid"]) for c in build.campaigns if c["account_key"] == main["key"]]
    created = long_ago
    if code in (LAUNCH_GEO, LAUNCH_GOAL):
        created = last_day
    elif code == UNDERDELIVERY:
        created = last_day - dt.timedelta(days=40)
    row = build.campaign(
        client,
        main,
        econ,
        spend=econ["cpa"] * rng.uniform(15, 30),
        created_on=created,
        number=number,
        initiative="new-product-launch" if code in (LAUNCH_GEO, LAUNCH_GOAL, UNDERDELIVERY) else "performance",
        problem=code,
    )
    p = build.params
    if code == UNDERDELIVERY:
        # Spend well under the lower CPA edge: barely any delivery, and never "spend without conversions".
        p["base_spend"][-1] = min(0.06 * p["budget"][-1], 0.5 * econ["cpa_min"])
        row["bid"] = Decimal(f"{float(np.median(bids)) * rng.uniform(0.3, 0.4):.2f}")
    if code in (LAUNCH_GEO, LAUNCH_GOAL):
        row["edited_at"] = at_local(last_day, dt.time(11, int(rng.integers(0, 60))), client["time_zone"])
        if code == LAUNCH_GEO:
            row["geo_targeting"] = []
        else:
            row["conversion_goal"] = None
            p["has_goal"][-1] = 0.0
    return {
        "detector": detector,
        "variant": variant,
        "client": client["slug"],
        "account": main["external_id"],
        "campaign": row["external_id"],
    }


def plan_agency(
    *,
    seed: int,
    as_of: dt.date,
    clients: int,
    days: int,
    campaigns_per_client: int | None = None,
    inject_problems: bool = True,
) -> AgencyPlan:
    """The whole demo agency for `as_of`, decided by `seed` alone; metrics come from `metric_chunks`."""
    _validate(clients, days, campaigns_per_client, inject_problems)
    rng = np.random.default_rng(seed)
    first_day, last_day = as_of - dt.timedelta(days=days), as_of - dt.timedelta(days=1)
    markets = _draw_markets(rng, clients)
    industries = _draw_industries(rng, clients)
    tiers = _draw_tiers(rng, clients)
    staff, teams = _plan_staff(rng, markets)
    client_rows, contacts, build, problems, pacing = _plan_clients(
        rng,
        as_of=as_of,
        first_day=first_day,
        n=clients,
        campaigns_per_client=campaigns_per_client,
        inject_problems=inject_problems,
        staff_teams=teams,
        markets=markets,
        industries=industries,
        tiers=tiers,
    )
    p = build.params
    params = CampaignParams(
        client=np.array(p["client"], dtype=np.int64),
        market=np.array(p["market"], dtype=np.int64),
        base_spend=np.array(p["base_spend"]),
        cpa=np.array(p["cpa"]),
        cpa_max=np.array(p["cpa_max"]),
        cpc=np.array(p["cpc"]),
        ctr=np.array(p["ctr"]),
        roas=np.array(p["roas"]),
        budget=np.array(p["budget"]),
        week=np.array(p["week"]).reshape(-1, 7),
        growth=np.array(p["growth"]),
        peak_sensitivity=np.array(p["peak_sensitivity"]),
        sigma=np.array(p["sigma"]),
        has_goal=np.array(p["has_goal"]),
        start=np.array(p["start"], dtype=np.int64),
        stop=np.array(p["stop"], dtype=np.int64),
        problem=np.array(p["problem"], dtype=np.int64),
    )
    record = _service_record(rng, as_of, client_rows, contacts, staff, teams, build, problems)
    return AgencyPlan(
        seed=seed,
        as_of=as_of,
        first_day=first_day,
        last_day=last_day,
        staff=staff,
        clients=client_rows,
        contacts=contacts,
        accounts=build.accounts,
        campaigns=build.campaigns,
        params=params,
        curves=peak_curves(first_day, days),
        pacing=pacing,
        problems=problems,
        **record,
    )


def display_names(key_dates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Agency-wide zh, ru and en names for every initiative and every shareable key date title of the demo."""
    rows = []
    for key, (zh, ru, en) in INITIATIVE_NAMES.items():
        for language, text in (("zh", zh), ("ru", ru), ("en", en)):
            rows.append({"scope": "*", "client_key": None, "kind": "initiative", "key": key, "language": language,
                         "text": text})
    titles = sorted({k["title"] for k in key_dates
                     if k.get("visibility", default_visibility(k["kind"])).value == "shareable"})
    for title in titles:
        if title in KEY_DATE_LABEL:
            zh, ru = KEY_DATE_LABEL[title]
            rows += [{"scope": "*", "client_key": None, "kind": "key_date", "key": title, "language": language,
                      "text": text} for language, text in (("zh", zh), ("ru", ru))]
    return rows


def _rescale(a: dict[str, np.ndarray], c: int, t: int, spend: float) -> float:
    """Set one day's spend and move clicks and impressions with it; returns the ratio applied."""
    ratio = spend / a["spend"][c, t] if a["spend"][c, t] > 0 else 0.0
    a["spend"][c, t] = spend
    a["clicks"][c, t] = np.rint(a["clicks"][c, t] * ratio)
    a["impressions"][c, t] = np.rint(a["impressions"][c, t] * ratio)
    return ratio


def _convert(a: dict[str, np.ndarray], c: int, t: int, conversions: float) -> None:
    """Set one day's conversions, keeping the value per conversion."""
    old = a["conversions"][c, t]
    per = a["conversion_value"][c, t] / old if old > 0 else 0.0
    a["conversions"][c, t] = conversions
    a["conversion_value"][c, t] = conversions * per


def _same_weekday_mean(values: np.ndarray, t: int) -> float:
    return float(values[[t - 7 * k for k in range(1, 5)]].mean())


def _inject(a: dict[str, np.ndarray], c: int, code: int, p: CampaignParams, key: int, rng: np.random.Generator) -> None:
    """Shape one campaign's last days into the injected problem it carries."""
    T = a["spend"].shape[1]
    d = T - 1
    cpa, cpa_max, budget = p.cpa[key], p.cpa_max[key], p.budget[key]
    if code == SWC:
        a["conversions"][c, d - 30 : d - 1] = np.maximum(a["conversions"][c, d - 30 : d - 1], 1)
        for t in (d - 1, d):
            _rescale(a, c, t, max(a["spend"][c, t], 1.65 * cpa_max))
            _convert(a, c, t, 0.0)
    elif code == CPA_HIGH:
        for t in range(d - 6, d + 1):
            _convert(a, c, t, max(1.0, np.rint(a["spend"][c, t] / (2 * cpa_max * rng.uniform(0.95, 1.05)))))
    elif code == UNDERDELIVERY:
        for t in range(T):
            if a["spend"][c, t] > 0.12 * budget:
                _rescale(a, c, t, 0.12 * budget)
    elif code in (LAUNCH_GEO, LAUNCH_GOAL):
        _rescale(a, c, d, min(0.05 * budget, 0.5 * cpa) * rng.uniform(0.3, 1.0))
        _convert(a, c, d, 0.0)
    elif code in (SPIKE, DROP):
        factor = (3.0 if code == SPIKE else 0.2) * rng.uniform(0.97, 1.03)
        clicks = np.rint(factor * _same_weekday_mean(a["clicks"][c], d))
        conversions = np.rint(_same_weekday_mean(a["conversions"][c], d) * factor * (0.8 if code == SPIKE else 1.0))
        _rescale(a, c, d, factor * _same_weekday_mean(a["spend"][c], d))
        a["clicks"][c, d] = clicks
        _convert(a, c, d, max(1.0, conversions))
    elif code == TRACKING:
        for t in (d - 1, d):
            _convert(a, c, t, 0.0)
    elif code == COLLAPSE:
        trailing = a["spend"][c, d - 30 : d - 2].mean()
        for t in range(d - 2, d + 1):
            ratio = _rescale(a, c, t, trailing * rng.uniform(0.03, 0.07))
            floor = 1.0 if a["spend"][c, t] >= 0.5 * cpa else 0.0
            _convert(a, c, t, max(floor, np.rint(a["conversions"][c, t] * ratio)))
    elif code == PAUSED:
        # Paused by the client at 20:30 local: that day still ran for most of its hours.
        ratio = _rescale(a, c, d, a["spend"][c, d] * 0.86)
        _convert(a, c, d, np.rint(a["conversions"][c, d] * ratio))


def metric_chunk(plan: AgencyPlan, lo: int, hi: int) -> MetricChunk:
    """Daily metrics of campaigns `lo`..`hi`, vectorised over campaigns × days; the same chunk always draws the same."""
    p, T = plan.params, plan.n_days
    rng = np.random.default_rng([plan.seed, METRIC_STREAM, lo // CAMPAIGNS_PER_CHUNK])
    keys = np.arange(lo, hi)
    C = hi - lo
    days = np.arange(T)
    trend = (1.0 + p.growth[keys, None]) ** ((days - (T - 1)) / 365.0)
    peak = np.maximum(1.0 + p.peak_sensitivity[keys, None] * (plan.curves[p.market[keys]] - 1.0), 0.4)
    mean = p.base_spend[keys, None] * p.week[keys][:, plan.day_of_week] * trend * peak
    spend = mean * rng.lognormal(0.0, 1.0, (C, T)) ** p.sigma[keys, None]
    clicks = np.rint(spend / (p.cpc[keys, None] * rng.lognormal(0.0, 0.05, (C, T))))
    impressions = np.rint(clicks / (p.ctr[keys, None] * rng.lognormal(0.0, 0.07, (C, T))))
    conversions = np.rint(spend / p.cpa[keys, None] * rng.lognormal(0.0, 0.10, (C, T))) * p.has_goal[keys, None]
    value = conversions * p.cpa[keys, None] * p.roas[keys, None] * rng.lognormal(0.0, 0.12, (C, T))
    arrays = {
        "spend": np.round(spend, 2),
        "clicks": clicks,
        "impressions": impressions,
        "conversions": conversions,
        "conversion_value": value,
    }
    for c in np.flatnonzero(p.problem[keys]):
        _inject(arrays, int(c), int(p.problem[lo + c]), p, lo + int(c), rng)
    alive = (days >= p.start[keys, None]) & (days < p.stop[keys, None])
    spend = np.round(arrays["spend"], 2)
    month = (spend * alive)[:, plan.month_start_index :].sum(axis=1)
    rows = np.nonzero(alive)
    return MetricChunk(
        campaign=keys[rows[0]],
        day=rows[1],
        impressions=np.maximum(arrays["impressions"], arrays["clicks"])[rows].astype(np.int64),
        clicks=arrays["clicks"][rows].astype(np.int64),
        spend=spend[rows],
        conversions=arrays["conversions"][rows],
        conversion_value=np.round(arrays["conversion_value"], 2)[rows],
        month_to_date=np.bincount(p.client[keys], weights=month, minlength=len(plan.clients)),
        campaigns_done=hi,
    )


def metric_chunks(plan: AgencyPlan) -> Iterator[MetricChunk]:
    """Every campaign's daily metrics, a fixed-size run of campaigns at a time."""
    total = len(plan.campaigns)
    for lo in range(0, total, CAMPAIGNS_PER_CHUNK):
        yield metric_chunk(plan, lo, min(lo + CAMPAIGNS_PER_CHUNK, total))


def monthly_budgets(plan: AgencyPlan, month_to_date: np.ndarray) -> list[Decimal]:
    """Each client's monthly commitment: its spend so far this month projected linearly, over its pacing factor."""
    import calendar

    elapsed = plan.last_day.day if plan.first_day <= plan.last_day.replace(day=1) else plan.n_days
    in_month = calendar.monthrange(plan.last_day.year, plan.last_day.month)[1]
    projected = month_to_date / elapsed * in_month
    # Budgets are round numbers, but never so round that pacing moves by more than a percent.
    return [money(nice(float(x) / f, 3)) for x, f in zip(projected, plan.pacing)]


def _market_key_dates(as_of: dt.date, markets: list[str]) -> list[dict[str, Any]]:
    """Market peaks with their yearly rule and lead time, stored at their next occurrence."""

    holiday_season = (fixed(12, 1), 21, "Holiday creatives live by Dec 1")
    western = [("Black Friday / Cyber Monday", "black_friday", 21,
                "Creatives, feeds and budgets approved three weeks before")]
    womens_day = ("8 Марта", fixed(3, 8), 14, "Gift demand peaks in the week before 8 March")
    peaks: dict[str, list[tuple[str, str, int, str]]] = {
        "CN": [
            ("618", fixed(6, 18), 24, "Book KOLs and lock budgets 7 days before the 618 presale on 1 June"),
            ("双11", fixed(11, 11), 36, "Presale opens Oct 20: creatives and budgets approved two weeks before"),
            ("春节", "spring_festival", 21, "Platform reviews slow down; agree the pre-holiday push early"),
        ],
        "RU": [
            womens_day,
            ("Черная пятница", "black_friday", 21,
             "Black Friday: promo mechanics and budgets agreed three weeks before"),
            ("Новогодние праздники", fixed(12, 31), 30, "Long holiday Jan 1–8: approvals stop, plan budgets in December"),
        ],
        "KZ": [womens_day],
        "US": western + [("Christmas shopping season", *holiday_season)],
        "GB": western + [("Christmas shopping season", *holiday_season)],
        "DE": western + [("Weihnachtsgeschäft", *holiday_season)],
    }
    rows = []
    for code in MARKETS:
        if code not in markets:
            continue
        for title, rule, lead, note in peaks[code]:
            rows.append(
                {
                    "scope": f"market:{code}",
                    "client_key": None,
                    "market": code,
                    "kind": KeyDateKind.MARKET_PEAK,
                    "title": title,
                    "on_date": next_on_or_after(rule, as_of),
                    "recurs_yearly": True,
                    "rule": rule,
                    "lead_days": lead,
                    "note": note,
                }
            )
    return rows


def _service_record(
    rng: np.random.Generator,
    as_of: dt.date,
    clients: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    staff: list[dict[str, Any]],
    teams: dict[str, dict[str, list[int]]],
    build: _Builder,
    problems: list[dict[str, Any]],
) -> dict[str, Any]:
    """Key dates, optimisation notes, interactions and 1-3-7 requests, all placed relative to `as_of`."""
    by_client: dict[int, list[dict[str, Any]]] = {c["key"]: [] for c in clients}
    for contact in contacts:
        by_client[contact["client_key"]].append(contact)
    accounts_of: dict[int, list[dict[str, Any]]] = {c["key"]: [] for c in clients}
    for account in build.accounts:
        accounts_of[account["client_key"]].append(account)
    campaigns_of: dict[int, list[dict[str, Any]]] = {a["key"]: [] for a in build.accounts}
    for campaign in build.campaigns:
        campaigns_of[campaign["account_key"]].append(campaign)
    yesterday = as_of - dt.timedelta(days=1)
    others = [c for c in clients if c["slug"] != CONTROL_SLUG]
    regular = [c for c in others if c["tier"] is Tier.REGULAR] or others
    silent = regular[0] if others else None
    unresponsive = next((c for c in others if c is not silent), None)
    awaiting = [c for c in others if c is not silent and c is not unresponsive][:3]
    cases: list[dict[str, Any]] = []

    key_dates = _market_key_dates(as_of, [c["market"] for c in clients])
    for i, client in enumerate(clients):
        slug, dm = client["slug"], by_client[client["key"]][0]
        key_dates.append(
            {
                "scope": slug,
                "client_key": client["key"],
                "market": client["market"],
                "kind": KeyDateKind.ANNIVERSARY,
                "title": "Cooperation anniversary",
                "on_date": client["cooperation_start"],
                "recurs_yearly": True,
                "lead_days": 14,
                "note": f"Together since {client['cooperation_start'].year}",
            }
        )
        if client["slug"] == CONTROL_SLUG:
            continue
        if i % 2 == 1 or i < 4:
            soon = i < 4 and i % 2 == 1
            birthday = (as_of + dt.timedelta(days=3)) if soon else as_of + dt.timedelta(days=int(rng.integers(0, 365)))
            year = int(_pick(rng, (1976, 1980, 1984, 1988)))
            key_dates.append(
                {
                    "scope": slug,
                    "client_key": client["key"],
                    "market": client["market"],
                    "kind": KeyDateKind.BIRTHDAY,
                    "title": f"Birthday: {dm['name']}",
                    "on_date": dt.date(year, birthday.month, min(birthday.day, 28)),
                    "recurs_yearly": True,
                    "lead_days": 3,
                    "note": "decision-maker",
                }
            )
        if i % 3 == 0 or i == 2:
            on = as_of + dt.timedelta(days=20 if i == 2 else int(rng.integers(5, 120)))
            key_dates.append(
                {
                    "scope": slug,
                    "client_key": client["key"],
                    "market": client["market"],
                    "kind": KeyDateKind.RENEWAL,
                    "title": "Contract renewal",
                    "on_date": on,
                    "recurs_yearly": False,
                    "lead_days": 30,
                    "note": "annual service contract",
                }
            )
        if i % 5 == 1:
            on = as_of + dt.timedelta(days=5 if i == 1 else int(rng.integers(7, 60)))
            key_dates.append(
                {
                    "scope": slug,
                    "client_key": client["key"],
                    "market": client["market"],
                    "kind": KeyDateKind.LAUNCH,
                    "title": f"Launch: {_pick(rng, LAUNCH_TITLES)}",
                    "on_date": on,
                    "recurs_yearly": False,
                    "lead_days": 14,
                    "note": "prepare a new-product-launch campaign",
                }
            )
        if client["tier"] is Tier.POTENTIAL and i % 4 == 3:
            key_dates.append(
                {
                    "scope": slug,
                    "client_key": client["key"],
                    "market": client["market"],
                    "kind": KeyDateKind.FINANCING,
                    "title": "Financing round closes",
                    "on_date": as_of + dt.timedelta(days=int(rng.integers(10, 90))),
                    "recurs_yearly": False,
                    "lead_days": 7,
                    "note": "budget may grow after the round",
                }
            )
    # Client dates keep their stored day; one shape for every row, as the bulk insert needs.
    for key_date in key_dates:
        key_date.setdefault("rule", None)

    notes: list[dict[str, Any]] = []
    for client in clients:
        team = teams[MARKETS[client["market"]].team]
        language = MARKETS[client["market"]].language
        accounts = accounts_of[client["key"]]
        per = {Tier.STRATEGIC: 14, Tier.POTENTIAL: 8, Tier.REGULAR: 5}[client["tier"]]
        for _ in range(per):
            account = _pick(rng, accounts)
            candidates = [c for c in campaigns_of[account["key"]] if c["created_on"] < yesterday - dt.timedelta(days=1)]
            if not candidates:
                continue
            campaign = _pick(rng, candidates)
            day = yesterday - dt.timedelta(days=int(rng.integers(1, 120)))
            action, reason = _pick(rng, NOTE_TEMPLATES[language])
            fill = {
                "campaign": campaign["name"],
                "pct": int(_pick(rng, (10, 15, 20, 25))),
                "n": int(rng.integers(2, 9)),
            }
            notes.append(
                {
                    "client_key": client["key"],
                    "account_key": account["key"],
                    "campaign_key": campaign["key"] if "{campaign}" in action else None,
                    "author_key": _pick(rng, team["optimisers"]),
                    "kind": NoteKind.OPTIMISATION,
                    "day": day,
                    "action": action.format(**fill),
                    "reason": reason,
                    "created_at": at_local(day, dt.time(18, 0), client["time_zone"]),
                }
            )
        if client["tier"] is Tier.STRATEGIC:
            for kind, action, reason in MARKET_NOTES[language]:
                day = yesterday - dt.timedelta(days=int(rng.integers(3, 85)))
                notes.append(
                    {
                        "client_key": client["key"],
                        "account_key": None,
                        "campaign_key": None,
                        "author_key": client["owner_am_key"],
                        "kind": kind,
                        "day": day,
                        "action": action,
                        "reason": reason,
                        "created_at": at_local(day, dt.time(17, 0), client["time_zone"]),
                    }
                )
    slugs = {c["slug"]: c for c in clients}
    for problem in problems:
        if problem["detector"] != "underdelivery_low_bid":
            continue
        client = slugs[problem["client"]]
        campaign = next(c for c in build.campaigns if c["external_id"] == problem["campaign"])
        action, reason = REFRESH_NOTE[MARKETS[client["market"]].language]
        day = as_of - dt.timedelta(days=5)
        notes.append(
            {
                "client_key": client["key"],
                "account_key": campaign["account_key"],
                "campaign_key": campaign["key"],
                "author_key": _pick(rng, teams[MARKETS[client["market"]].team]["optimisers"]),
                "kind": NoteKind.OPTIMISATION,
                "day": day,
                "action": action.format(campaign=campaign["name"]),
                "reason": reason,
                "created_at": at_local(day, dt.time(18, 0), client["time_zone"]),
            }
        )
    notes.sort(key=lambda n: (n["client_key"], n["day"], n["action"]))

    interactions: list[dict[str, Any]] = []
    for client in clients:
        zone, language = client["time_zone"], MARKETS[client["market"]].language
        people = by_client[client["key"]]
        gap = {Tier.STRATEGIC: 2, Tier.POTENTIAL: 3, Tier.REGULAR: 5}[client["tier"]]
        day = yesterday - dt.timedelta(days=int(rng.integers(0, gap)))
        floor = as_of - dt.timedelta(days=45)
        if client is silent:
            day = as_of - dt.timedelta(days=15 + int(rng.integers(0, 3)))
        while day >= floor:
            contact = people[-1] if rng.random() < 0.7 else people[0]
            sent = at_local(day, dt.time(int(rng.integers(10, 16)), int(rng.integers(0, 60))), zone)
            waiting = client is unresponsive and day >= as_of - dt.timedelta(days=12)
            interactions.append(
                {
                    "client_key": client["key"],
                    "contact_key": contact["key"],
                    "staff_key": client["owner_am_key"],
                    "direction": Direction.OUTBOUND,
                    "channel": contact["channel"],
                    "occurred_at": sent,
                    "summary": _pick(rng, OUTBOUND_SUMMARIES[language]),
                    "needs_reply": waiting,
                    "replied_at": None,
                }
            )
            quiet = client is unresponsive and day >= as_of - dt.timedelta(days=21)
            if not quiet and rng.random() < 0.45:
                asked = sent + dt.timedelta(hours=int(rng.integers(1, 4)))
                interactions.append(
                    {
                        "client_key": client["key"],
                        "contact_key": contact["key"],
                        "staff_key": None,
                        "direction": Direction.INBOUND,
                        "channel": contact["channel"],
                        "occurred_at": asked,
                        "summary": _pick(rng, INBOUND_SUMMARIES[language]),
                        "needs_reply": True,
                        "replied_at": asked + dt.timedelta(minutes=int(rng.integers(10, 90))),
                    }
                )
            day -= dt.timedelta(days=gap + int(rng.integers(-1, 2)) if gap > 2 else gap)
        if client is unresponsive:
            replied = at_local(as_of - dt.timedelta(days=24), dt.time(14, 0), zone)
            interactions.append(
                {
                    "client_key": client["key"],
                    "contact_key": people[0]["key"],
                    "staff_key": None,
                    "direction": Direction.INBOUND,
                    "channel": people[0]["channel"],
                    "occurred_at": replied,
                    "summary": _pick(rng, INBOUND_SUMMARIES[language]),
                    "needs_reply": True,
                    "replied_at": replied + dt.timedelta(minutes=40),
                }
            )
        if client in awaiting:
            contact = people[-1]
            interactions.append(
                {
                    "client_key": client["key"],
                    "contact_key": contact["key"],
                    "staff_key": None,
                    "direction": Direction.INBOUND,
                    "channel": contact["channel"],
                    "occurred_at": at_local(yesterday, dt.time(16, 30), zone),
                    "summary": _pick(rng, INBOUND_SUMMARIES[language]),
                    "needs_reply": True,
                    "replied_at": None,
                }
            )
            cases.append(
                {
                    "case": "needs_reply",
                    "client": client["slug"],
                    "detail": "inbound message unanswered since yesterday 16:30",
                }
            )
    if silent is not None:
        cases.append({"case": "not_contacted", "client": silent["slug"], "detail": "no contact for at least 15 days"})
    if unresponsive is not None:
        cases.append(
            {
                "case": "unresponsive",
                "client": unresponsive["slug"],
                "detail": "outbound messages in the last 12 days unanswered; last reply over 3 weeks ago",
            }
        )
    interactions.sort(key=lambda x: (x["client_key"], x["occurred_at"]))

    requests: list[dict[str, Any]] = []
    plan_for = others[:3]
    n_requests = max(5, len(clients) // 4)
    for i in range(n_requests):
        if i < len(plan_for):
            client = _pick(rng, [c for c in others if c["tier"] is Tier.STRATEGIC] or others) if i == 0 else plan_for[i]
        else:
            client = _pick(rng, clients)
        zone, language = client["time_zone"], MARKETS[client["market"]].language
        contact = _pick(rng, by_client[client["key"]])
        stage = ("overdue", "acknowledged", "planned")[i] if i < len(plan_for) else "delivered"
        back = {"overdue": 8, "acknowledged": 1, "planned": 4}.get(stage, int(rng.integers(12, 120)))
        received = at_local(
            as_of - dt.timedelta(days=back), dt.time(int(rng.integers(10, 16)), int(rng.integers(0, 60))), zone
        )
        acknowledged = received + dt.timedelta(minutes=int(rng.integers(10, 50)))
        row = {
            "client_key": client["key"],
            "contact_key": contact["key"],
            "reference": f"REQ-{i + 1:04d}",
            "title": _pick(rng, REQUEST_TITLES[language]),
            "description": "",
            "status": {
                "overdue": RequestStatus.ACKNOWLEDGED,
                "acknowledged": RequestStatus.ACKNOWLEDGED,
                "planned": RequestStatus.PLANNED,
            }.get(stage, RequestStatus.DELIVERED),
            "received_at": received,
            "confirm_due_at": received + dt.timedelta(hours=1),
            "plan_due_at": received + dt.timedelta(days=3),
            "deliver_due_at": received + dt.timedelta(days=7),
            "acknowledged_at": acknowledged,
            "planned_at": None,
            "delivered_at": None,
        }
        if stage in ("planned", "delivered"):
            row["planned_at"] = received + dt.timedelta(days=int(rng.integers(1, 3)), hours=2)
        if stage == "delivered":
            row["delivered_at"] = received + dt.timedelta(days=int(rng.integers(4, 7)), hours=3)
        if stage == "overdue":
            cases.append(
                {
                    "case": "request_overdue",
                    "client": client["slug"],
                    "detail": f"{row['reference']}: first plan was due {row['plan_due_at']:%Y-%m-%d %H:%M} UTC",
                }
            )
        requests.append(row)
    for row in key_dates:
        row.setdefault("visibility", default_visibility(row["kind"]))
    return {
        "key_dates": key_dates,
        "display_names": display_names(key_dates),
        "notes": notes,
        "interactions": interactions,
        "requests": requests,
        "service_cases": cases,
    }
