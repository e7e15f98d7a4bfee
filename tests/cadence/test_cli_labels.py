"""`cadence key-date` and `cadence label` as an AM uses them, on both databases."""

from __future__ import annotations

from cli_helpers import cli, fails
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Contact, DisplayName, KeyDate
from models.enums import ContactRole, Language, Visibility


def _client():
    cli("client", "add", "--slug", "acme", "--name", "Acme", "--market", "CN", "--time-zone", "Asia/Shanghai",
        "--currency", "CNY", "--am-email", "am@agency.example")


def test_key_dates_get_a_visibility_by_kind_unless_told(engine):
    _client()
    assert "(birthday, private)" in cli("key-date", "add", "Birthday: Li Wei", "--on", "1980-12-05",
                                        "--kind", "birthday", "--client", "acme", "--yearly")
    assert "(launch, shareable)" in cli("key-date", "add", "Launch: spring collection", "--on", "2027-03-01",
                                        "--kind", "launch", "--client", "acme")
    assert "(launch, private)" in cli("key-date", "add", "Launch: secret", "--on", "2027-04-01", "--kind", "launch",
                                      "--client", "acme", "--visibility", "private")
    assert "(market_peak, shareable)" in cli("key-date", "add", "双11", "--on", "2026-11-11", "--kind",
                                             "market_peak", "--market", "cn", "--yearly")
    with Session(engine) as s:
        seen = {k.title: k.visibility for k in s.scalars(select(KeyDate))}
    assert seen == {"Birthday: Li Wei": Visibility.PRIVATE, "Launch: spring collection": Visibility.SHAREABLE,
                    "Launch: secret": Visibility.PRIVATE, "双11": Visibility.SHAREABLE}
    listed = cli("key-date", "list", "--client", "acme")
    assert "private" in listed and "Launch: spring collection" in listed and "双11" not in listed
    assert "already exists" in fails("key-date", "add", "双11", "--on", "2026-11-11", "--kind", "market_peak",
                                     "--market", "CN")
    assert "exactly one of" in fails("key-date", "add", "x", "--on", "2026-11-11", "--kind", "launch")
    assert "YYYY-MM-DD" in fails("key-date", "add", "x", "--on", "11/11", "--kind", "launch", "--client", "acme")
    assert "no client" in fails("key-date", "add", "x", "--on", "2026-11-11", "--kind", "launch", "--client", "nope")


def test_display_names_are_set_listed_and_missing_ones_shown(engine):
    _client()
    with Session(engine) as s, s.begin():
        client = s.scalars(select(Client).where(Client.slug == "acme")).one()
        s.add(Contact(client_id=client.id, name="李伟", email="li@acme.example", role=ContactRole.DECISION_MAKER,
                      language=Language.ZH))
    cli("key-date", "add", "Launch: spring collection", "--on", "2027-03-01", "--kind", "launch", "--client", "acme")
    cli("key-date", "add", "Birthday: Li Wei", "--on", "1980-12-05", "--kind", "birthday", "--client", "acme")
    out = cli("label", "set", "效果广告", "--initiative", "performance", "--language", "zh")
    assert "agency-wide" in out
    cli("label", "set", "效果类广告", "--initiative", "performance", "--language", "zh", "--client", "acme")
    cli("label", "set", "效果类投放", "--initiative", "performance", "--language", "zh", "--client", "acme")
    with Session(engine) as s:
        rows = {(d.scope, d.language.value): d.text for d in s.scalars(select(DisplayName))}
    assert rows == {("*", "zh"): "效果广告", ("acme", "zh"): "效果类投放"}  # set twice: replaced, not duplicated
    assert "效果类投放" in cli("label", "list", "--client", "acme")
    missing = cli("label", "missing")
    # A zh reader, a shareable launch without a zh name: listed; the private birthday never needs one.
    assert "Launch: spring collection" in missing and "Birthday" not in missing and "performance" not in missing
    cli("label", "set", "新品上市：春季系列", "--key-date", "Launch: spring collection", "--language", "zh")
    assert "every label has a name" in cli("label", "missing")
    assert "exactly one of" in fails("label", "set", "x", "--language", "zh")
    assert "no client" in fails("label", "set", "x", "--initiative", "brand", "--language", "zh", "--client", "nope")
    assert fails("label", "set", "x", "--initiative", "brand", "--language", "de")
