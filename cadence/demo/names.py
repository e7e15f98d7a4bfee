"""The names the demo gives: people and companies in each market's own script, with ASCII for emails and slugs."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """'本地|ascii; ...' as ((local, ascii), ...): names in their own script with the ASCII used for slugs and
    emails."""
    return tuple((local, ascii_) for local, ascii_ in (item.strip().split("|") for item in text.split(";")))


def _keyed(text: str) -> dict[str, tuple[str, str]]:
    """'key|local|ascii; ...' as {key: (local, ascii)}."""
    return {key: (local, ascii_) for key, local, ascii_ in (item.strip().split("|") for item in text.split(";"))}


CN_CITIES = _pairs(
    "上海|shanghai; 北京|beijing; 深圳|shenzhen; 杭州|hangzhou; 广州|guangzhou; 成都|chengdu; 南京|nanjing; 武汉|wuhan"
)
BRANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "CN": _pairs(
        "星辰|xingchen; 云帆|yunfan; 天禾|tianhe; 锦程|jincheng; 华美|huamei; 蓝鲸|lanjing; 优品|youpin; "
        "悦享|yuexiang; 鼎盛|dingsheng; 嘉禾|jiahe; 恒通|hengtong; 瑞丰|ruifeng; 博雅|boya; 青橙|qingcheng; "
        "极光|jiguang; 乐游|leyou; 安康|ankang; 易达|yida; 明远|mingyuan; 启航|qihang; 万象|wanxiang; 光合|guanghe; "
        "清泉|qingquan; 新禾|xinhe"
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


def pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def unique(candidate: str, taken: dict[str, None]) -> str:
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
        (surname, s_ascii), (given, g_ascii) = pick(rng, CN_SURNAMES), pick(rng, CN_GIVEN)
        honorific = "ms" if given in CN_FEMALE_GIVEN else "mr"
        return surname + given, f"{s_ascii}.{g_ascii}", {"given_name": given, "family_name": surname,
                                                          "patronymic": None, "honorific": honorific}
    if market in ("RU", "KZ"):
        female = bool(rng.random() < 0.5)
        if market == "RU":
            first = pick(rng, RU_FEMALE if female else RU_MALE)
            last = pick(rng, RU_SURNAMES)
        else:
            first = pick(rng, KZ_FEMALE if female else KZ_MALE)
            last = pick(rng, KZ_SURNAMES)
        surname, s_ascii = (last[0] + "а", last[1] + "a") if female else last
        local = f"{first[1]}.{s_ascii}"
        fathers = tuple(n for n, _ in (RU_MALE if market == "RU" else KZ_MALE))
        return f"{first[0]} {surname}", local, {"given_name": first[0], "family_name": surname,
                                                "patronymic": _patronymic(local, female, fathers),
                                                "honorific": "ms" if female else "mr"}
    if market == "DE":
        first, last = pick(rng, DE_FIRST), pick(rng, DE_LAST)
        honorific = "ms" if first[0] in DE_FEMALE_FIRST else "mr"
        return f"{first[0]} {last[0]}", f"{first[1]}.{last[1]}", {"given_name": first[0], "family_name": last[0],
                                                                  "patronymic": None, "honorific": honorific}
    first, last = pick(rng, EN_FIRST), pick(rng, EN_LAST)
    honorific = "ms" if first in EN_FEMALE_FIRST else "mr"
    return f"{first} {last}", f"{first.lower()}.{last.lower()}", {"given_name": first, "family_name": last,
                                                                  "patronymic": None, "honorific": honorific}


def company(market: str, industry: str, rng: np.random.Generator, slugs: dict[str, None]) -> tuple[str, str]:
    """A company name for `market` in its own script, and a unique ASCII slug."""
    brand, brand_ascii = pick(rng, BRANDS[market])
    words = {"CN": "zh", "RU": "ru", "KZ": "ru", "DE": "de"}.get(market, "en")
    word, word_ascii = INDUSTRY_WORDS[words][industry]
    if market == "CN":
        city, city_ascii = pick(rng, CN_CITIES)
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
    return name, unique(slug, slugs)


def phone(market: str, rng: np.random.Generator) -> str:
    """A phone number in the market's format, from fictional ranges where the market has them."""

    def d(n: int) -> str:
        return "".join(str(int(x)) for x in rng.integers(0, 10, n))

    return {
        "CN": lambda: f"+86 13{d(1)} {d(4)} {d(4)}",
        "RU": lambda: f"+7 9{d(2)} {d(3)}-{d(2)}-{d(2)}",
        "KZ": lambda: f"+7 70{pick(rng, ('1', '5', '7'))} {d(3)} {d(2)} {d(2)}",
        "US": lambda: f"+1 {pick(rng, ('212', '312', '415', '512', '206', '305'))} 555-01{d(2)}",
        "GB": lambda: f"+44 20 7946 0{d(3)}",
        "DE": lambda: f"+49 30 5550{d(4)}",
    }[market]()
