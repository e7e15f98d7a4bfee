"""How a letter opens, per language and tone, from a contact's name parts (never a full name in a friendly hello)."""

from __future__ import annotations

from dataclasses import dataclass

# Written per language rather than through the catalogue: word order, gender and the patronymic differ by language.
EN_TITLES = {"ms": "Ms", "mr": "Mr", "dr": "Dr"}
ZH_TITLES = {"ms": "女士", "mr": "先生", "dr": "博士"}
RU_DEAR = {"ms": "Уважаемая", "mr": "Уважаемый"}


@dataclass(frozen=True)
class NameParts:
    """A contact's name as stored: the full name, and the parts when they are known."""

    full: str
    given: str | None = None
    family: str | None = None
    patronymic: str | None = None
    honorific: str | None = None


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


def salutation(language: str, tone: str, name: NameParts) -> str:
    """`Dear Ms Bennett,` / `Hi Michael,`; `Уважаемая Айгерим Касымовна!` / `Здравствуйте, Айгерим!`;
    `徐女士，您好！` / `雨萱，你好！`; without the parts it needs, a greeting with no name rather than a wrong one."""
    given, family = _clean(name.given), _clean(name.family)
    patronymic, honorific = _clean(name.patronymic), _clean(name.honorific)
    friendly = tone == "friendly"
    if language == "zh":
        if friendly:
            return f"{given}，你好！" if given else "你好！"
        if family and honorific in ZH_TITLES:
            return f"{family}{ZH_TITLES[honorific]}，您好！"
        return f"{family}{given}，您好！" if family and given else "您好！"
    if language == "ru":
        if friendly or not given:
            return f"Здравствуйте, {given}!" if given else "Здравствуйте!"
        called = f"{given} {patronymic}" if patronymic else given
        if honorific in RU_DEAR:
            return f"{RU_DEAR[honorific]} {called}!"
        return f"Здравствуйте, {called}!"
    if friendly:
        return f"Hi {given}," if given else "Hello,"
    if family and honorific in EN_TITLES:
        return f"Dear {EN_TITLES[honorific]} {family},"
    if given and family:
        return f"Dear {given} {family},"
    return f"Dear {given or _clean(name.full) or 'Sir or Madam'},"
