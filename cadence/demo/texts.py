"""The words of the demo's service record: initiative and key-date labels, notes, messages and request titles."""

from __future__ import annotations

from models.enums import Language, NoteKind

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
