"""The demo agency's service record: key dates, optimisation notes, interactions and 1-3-7 requests, around as_of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from cadence.demo.accounts import Builder
from cadence.demo.markets import MARKETS
from cadence.demo.names import pick
from cadence.demo.texts import (
    INBOUND_SUMMARIES,
    INITIATIVE_NAMES,
    KEY_DATE_LABEL,
    LAUNCH_TITLES,
    MARKET_NOTES,
    NOTE_TEMPLATES,
    OUTBOUND_SUMMARIES,
    REFRESH_NOTE,
    REQUEST_TITLES,
)
from cadence.demo.values import at_local
from models.enums import Direction, KeyDateKind, NoteKind, RequestStatus, Tier
from models.service import default_visibility
from tasks.client_check import CONTROL_SLUG
from tasks.market_calendar import fixed, next_on_or_after


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


def market_key_dates(as_of: dt.date, markets: list[str]) -> list[dict[str, Any]]:
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
            ("Новогодние праздники", fixed(12, 31), 30,
             "Long holiday Jan 1–8: approvals stop, plan budgets in December"),
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


@dataclass(frozen=True)
class _Cast:
    """Each client's contacts, and the clients cast in the service cases the watch must find."""

    contacts: dict[int, list[dict[str, Any]]]
    others: list[dict[str, Any]]  # every client but the control
    silent: dict[str, Any] | None  # not contacted for 15 days
    unresponsive: dict[str, Any] | None  # stopped answering three weeks ago
    awaiting: list[dict[str, Any]]  # an inbound message unanswered since yesterday

    @classmethod
    def of(cls, clients: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> _Cast:
        by_client: dict[int, list[dict[str, Any]]] = {c["key"]: [] for c in clients}
        for contact in contacts:
            by_client[contact["client_key"]].append(contact)
        others = [c for c in clients if c["slug"] != CONTROL_SLUG]
        regular = [c for c in others if c["tier"] is Tier.REGULAR] or others
        silent = regular[0] if others else None
        unresponsive = next((c for c in others if c is not silent), None)
        awaiting = [c for c in others if c is not silent and c is not unresponsive][:3]
        return cls(by_client, others, silent, unresponsive, awaiting)


def service_record(
    rng: np.random.Generator,
    as_of: dt.date,
    clients: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    teams: dict[str, dict[str, list[int]]],
    build: Builder,
    problems: list[dict[str, Any]],
) -> dict[str, Any]:
    """Key dates, optimisation notes, interactions and 1-3-7 requests, all placed relative to `as_of`.

    The steps draw from `rng` in this order; changing it changes every demo agency after the first step.
    """
    cast = _Cast.of(clients, contacts)
    key_dates = market_key_dates(as_of, [c["market"] for c in clients]) + _client_key_dates(rng, as_of, clients, cast)
    notes = _optimisation_notes(rng, as_of, clients, teams, build)
    notes += _refresh_notes(rng, as_of, clients, teams, build, problems)
    notes.sort(key=lambda n: (n["client_key"], n["day"], n["action"]))
    interactions, cases = _interactions(rng, as_of, clients, cast)
    requests, overdue = _requests(rng, as_of, clients, cast)
    for row in key_dates:
        # Client dates keep their stored day; one shape for every row, as the bulk insert needs.
        row.setdefault("rule", None)
        row.setdefault("visibility", default_visibility(row["kind"]))
    return {
        "key_dates": key_dates,
        "display_names": display_names(key_dates),
        "notes": notes,
        "interactions": interactions,
        "requests": requests,
        "service_cases": cases + overdue,
    }


def _key_date(client: dict[str, Any], kind: KeyDateKind, title: str, on_date: dt.date, *, recurs_yearly: bool,
              lead_days: int, note: str) -> dict[str, Any]:
    return {
        "scope": client["slug"],
        "client_key": client["key"],
        "market": client["market"],
        "kind": kind,
        "title": title,
        "on_date": on_date,
        "recurs_yearly": recurs_yearly,
        "lead_days": lead_days,
        "note": note,
    }


def _client_key_dates(rng: np.random.Generator, as_of: dt.date, clients: list[dict[str, Any]],
                      cast: _Cast) -> list[dict[str, Any]]:
    """Every client's anniversary; birthdays, renewals, launches and financing rounds for some, a few of them soon."""
    rows = []
    for i, client in enumerate(clients):
        start = client["cooperation_start"]
        rows.append(_key_date(client, KeyDateKind.ANNIVERSARY, "Cooperation anniversary", start, recurs_yearly=True,
                              lead_days=14, note=f"Together since {start.year}"))
        if client["slug"] == CONTROL_SLUG:
            continue
        if i % 2 == 1 or i < 4:
            soon = i < 4 and i % 2 == 1
            birthday = (as_of + dt.timedelta(days=3)) if soon else as_of + dt.timedelta(days=int(rng.integers(0, 365)))
            year = int(pick(rng, (1976, 1980, 1984, 1988)))
            dm = cast.contacts[client["key"]][0]
            rows.append(_key_date(client, KeyDateKind.BIRTHDAY, f"Birthday: {dm['name']}",
                                  dt.date(year, birthday.month, min(birthday.day, 28)), recurs_yearly=True,
                                  lead_days=3, note="decision-maker"))
        if i % 3 == 0 or i == 2:
            on = as_of + dt.timedelta(days=20 if i == 2 else int(rng.integers(5, 120)))
            rows.append(_key_date(client, KeyDateKind.RENEWAL, "Contract renewal", on, recurs_yearly=False,
                                  lead_days=30, note="annual service contract"))
        if i % 5 == 1:
            on = as_of + dt.timedelta(days=5 if i == 1 else int(rng.integers(7, 60)))
            rows.append(_key_date(client, KeyDateKind.LAUNCH, f"Launch: {pick(rng, LAUNCH_TITLES)}", on,
                                  recurs_yearly=False, lead_days=14, note="prepare a new-product-launch campaign"))
        if client["tier"] is Tier.POTENTIAL and i % 4 == 3:
            on = as_of + dt.timedelta(days=int(rng.integers(10, 90)))
            rows.append(_key_date(client, KeyDateKind.FINANCING, "Financing round closes", on, recurs_yearly=False,
                                  lead_days=7, note="budget may grow after the round"))
    return rows


def _optimisation_notes(rng: np.random.Generator, as_of: dt.date, clients: list[dict[str, Any]],
                        teams: dict[str, dict[str, list[int]]], build: Builder) -> list[dict[str, Any]]:
    """The optimisers' notes on campaigns over the last four months, and the AM's market notes for strategic clients."""
    accounts_of: dict[int, list[dict[str, Any]]] = {c["key"]: [] for c in clients}
    for account in build.accounts:
        accounts_of[account["client_key"]].append(account)
    campaigns_of: dict[int, list[dict[str, Any]]] = {a["key"]: [] for a in build.accounts}
    for campaign in build.campaigns:
        campaigns_of[campaign["account_key"]].append(campaign)
    yesterday = as_of - dt.timedelta(days=1)
    notes: list[dict[str, Any]] = []
    for client in clients:
        team = teams[MARKETS[client["market"]].team]
        language = MARKETS[client["market"]].language
        accounts = accounts_of[client["key"]]
        per = {Tier.STRATEGIC: 14, Tier.POTENTIAL: 8, Tier.REGULAR: 5}[client["tier"]]
        for _ in range(per):
            account = pick(rng, accounts)
            candidates = [c for c in campaigns_of[account["key"]] if c["created_on"] < yesterday - dt.timedelta(days=1)]
            if not candidates:
                continue
            campaign = pick(rng, candidates)
            day = yesterday - dt.timedelta(days=int(rng.integers(1, 120)))
            action, reason = pick(rng, NOTE_TEMPLATES[language])
            fill = {
                "campaign": campaign["name"],
                "pct": int(pick(rng, (10, 15, 20, 25))),
                "n": int(rng.integers(2, 9)),
            }
            notes.append(
                {
                    "client_key": client["key"],
                    "account_key": account["key"],
                    "campaign_key": campaign["key"] if "{campaign}" in action else None,
                    "author_key": pick(rng, team["optimisers"]),
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
    return notes


def _refresh_notes(rng: np.random.Generator, as_of: dt.date, clients: list[dict[str, Any]],
                   teams: dict[str, dict[str, list[int]]], build: Builder,
                   problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A note five days ago on each low-bid campaign: new creatives, and volume still far below budget."""
    notes: list[dict[str, Any]] = []
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
                "author_key": pick(rng, teams[MARKETS[client["market"]].team]["optimisers"]),
                "kind": NoteKind.OPTIMISATION,
                "day": day,
                "action": action.format(campaign=campaign["name"]),
                "reason": reason,
                "created_at": at_local(day, dt.time(18, 0), client["time_zone"]),
            }
        )
    return notes


def _conversation(rng: np.random.Generator, as_of: dt.date, client: dict[str, Any],
                  cast: _Cast) -> list[dict[str, Any]]:
    """Six weeks of one client's messages, every few days by tier, shaped by the service case it is cast in."""
    yesterday = as_of - dt.timedelta(days=1)
    rows: list[dict[str, Any]] = []
    zone, language = client["time_zone"], MARKETS[client["market"]].language
    people = cast.contacts[client["key"]]
    gap = {Tier.STRATEGIC: 2, Tier.POTENTIAL: 3, Tier.REGULAR: 5}[client["tier"]]
    day = yesterday - dt.timedelta(days=int(rng.integers(0, gap)))
    floor = as_of - dt.timedelta(days=45)
    if client is cast.silent:
        day = as_of - dt.timedelta(days=15 + int(rng.integers(0, 3)))
    while day >= floor:
        contact = people[-1] if rng.random() < 0.7 else people[0]
        sent = at_local(day, dt.time(int(rng.integers(10, 16)), int(rng.integers(0, 60))), zone)
        waiting = client is cast.unresponsive and day >= as_of - dt.timedelta(days=12)
        rows.append(
            {
                "client_key": client["key"],
                "contact_key": contact["key"],
                "staff_key": client["owner_am_key"],
                "direction": Direction.OUTBOUND,
                "channel": contact["channel"],
                "occurred_at": sent,
                "summary": pick(rng, OUTBOUND_SUMMARIES[language]),
                "needs_reply": waiting,
                "replied_at": None,
            }
        )
        quiet = client is cast.unresponsive and day >= as_of - dt.timedelta(days=21)
        if not quiet and rng.random() < 0.45:
            asked = sent + dt.timedelta(hours=int(rng.integers(1, 4)))
            rows.append(
                {
                    "client_key": client["key"],
                    "contact_key": contact["key"],
                    "staff_key": None,
                    "direction": Direction.INBOUND,
                    "channel": contact["channel"],
                    "occurred_at": asked,
                    "summary": pick(rng, INBOUND_SUMMARIES[language]),
                    "needs_reply": True,
                    "replied_at": asked + dt.timedelta(minutes=int(rng.integers(10, 90))),
                }
            )
        day -= dt.timedelta(days=gap + int(rng.integers(-1, 2)) if gap > 2 else gap)
    if client is cast.unresponsive:
        replied = at_local(as_of - dt.timedelta(days=24), dt.time(14, 0), zone)
        rows.append(
            {
                "client_key": client["key"],
                "contact_key": people[0]["key"],
                "staff_key": None,
                "direction": Direction.INBOUND,
                "channel": people[0]["channel"],
                "occurred_at": replied,
                "summary": pick(rng, INBOUND_SUMMARIES[language]),
                "needs_reply": True,
                "replied_at": replied + dt.timedelta(minutes=40),
            }
        )
    if client in cast.awaiting:
        contact = people[-1]
        rows.append(
            {
                "client_key": client["key"],
                "contact_key": contact["key"],
                "staff_key": None,
                "direction": Direction.INBOUND,
                "channel": contact["channel"],
                "occurred_at": at_local(yesterday, dt.time(16, 30), zone),
                "summary": pick(rng, INBOUND_SUMMARIES[language]),
                "needs_reply": True,
                "replied_at": None,
            }
        )
    return rows


def _interactions(rng: np.random.Generator, as_of: dt.date, clients: list[dict[str, Any]],
                  cast: _Cast) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every client's conversation, and the service cases they leave for the watch."""
    interactions: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for client in clients:
        interactions += _conversation(rng, as_of, client, cast)
        if client in cast.awaiting:
            cases.append(
                {
                    "case": "needs_reply",
                    "client": client["slug"],
                    "detail": "inbound message unanswered since yesterday 16:30",
                }
            )
    if cast.silent is not None:
        cases.append(
            {"case": "not_contacted", "client": cast.silent["slug"], "detail": "no contact for at least 15 days"}
        )
    if cast.unresponsive is not None:
        cases.append(
            {
                "case": "unresponsive",
                "client": cast.unresponsive["slug"],
                "detail": "outbound messages in the last 12 days unanswered; last reply over 3 weeks ago",
            }
        )
    interactions.sort(key=lambda x: (x["client_key"], x["occurred_at"]))
    return interactions, cases


def _requests(rng: np.random.Generator, as_of: dt.date, clients: list[dict[str, Any]],
              cast: _Cast) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """1-3-7 requests: one overdue, one just acknowledged, one planned, the rest delivered; and the overdue case."""
    requests: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    others = cast.others
    plan_for = others[:3]
    n_requests = max(5, len(clients) // 4)
    for i in range(n_requests):
        if i < len(plan_for):
            client = pick(rng, [c for c in others if c["tier"] is Tier.STRATEGIC] or others) if i == 0 else plan_for[i]
        else:
            client = pick(rng, clients)
        zone, language = client["time_zone"], MARKETS[client["market"]].language
        contact = pick(rng, cast.contacts[client["key"]])
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
            "title": pick(rng, REQUEST_TITLES[language]),
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
    return requests, cases
