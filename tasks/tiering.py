"""Client tiers from scale, length of cooperation and breadth of service (seed 003), with an override that wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, DailyMetric, Staff
from models.enums import Audience, ClientStatus, Language, Tier
from tasks import i18n, internal_mail
from tasks.i18n import N_, gettext_, ngettext_
from tasks.messaging import enqueue
from tasks.render import render_in

FLOW = "tier-recompute"

# Rough units of each currency per US dollar: tiers compare clients across markets, so precision is not needed.
UNITS_PER_USD = {"USD": Decimal(1), "CNY": Decimal("7.2"), "RUB": Decimal(92), "KZT": Decimal(490),
                 "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
SCALE_USD = ((Decimal(1_000_000), 2), (Decimal(250_000), 1))
COOPERATION_MONTHS = ((36, 2), (12, 1))
SERVICES = ((4, 2), (2, 1))
STRATEGIC_SCORE, POTENTIAL_SCORE = 5, 3
# A client with less than a year of data is judged on its pace, but not on its first few weeks alone.
MIN_HISTORY_DAYS = 30


@dataclass(frozen=True)
class TierInputs:
    client_id: int
    spend_12m: Mapping[str, Decimal]
    cooperation_start: dt.date
    services: int
    history_days: int = 365


@dataclass(frozen=True)
class TierVerdict:
    client_id: int
    tier: Tier
    score: int
    spend_usd: Decimal | None
    months: int
    reason: str
    facts: Mapping[str, Any]  # what reason_in() words in the reader's language


def _points(value: Decimal | int, steps: tuple[tuple[Any, int], ...]) -> int:
    return next((points for floor, points in steps if value >= floor), 0)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end`."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(0, months)


def to_usd(spend: Mapping[str, Decimal]) -> Decimal | None:
    """Spend in several currencies summed in dollars; None if a currency is unknown."""
    total = Decimal(0)
    for currency, amount in spend.items():
        rate = UNITS_PER_USD.get(currency.upper())
        if rate is None:
            return None
        total += Decimal(amount) / rate
    return total.quantize(Decimal(1))


def assign_tier(inputs: TierInputs, as_of: dt.date) -> TierVerdict:
    """Scale, cooperation and need score 0-2 each; strategic needs 5+ with the top scale, potential 3+."""
    usd = to_usd(inputs.spend_12m)
    if usd is not None and inputs.history_days < 365:
        usd = (usd * 365 / max(inputs.history_days, MIN_HISTORY_DAYS)).quantize(Decimal(1))
    months = months_between(inputs.cooperation_start, as_of)
    scale = 0 if usd is None else _points(usd, SCALE_USD)
    cooperation = _points(months, COOPERATION_MONTHS)
    need = _points(inputs.services, SERVICES)
    score = scale + cooperation + need
    if score >= STRATEGIC_SCORE and scale == 2:
        tier = Tier.STRATEGIC
    elif score >= POTENTIAL_SCORE:
        tier = Tier.POTENTIAL
    else:
        tier = Tier.REGULAR
    spend = "unknown currency" if usd is None else f"${usd:,.0f}"
    if usd is not None and inputs.history_days < 365:
        spend += f" (annualised from {inputs.history_days} days)"
    reason = (f"12-month spend {spend} (scale {scale}), {months} months together (cooperation {cooperation}), "
              f"{inputs.services} service line{'s' if inputs.services != 1 else ''} (need {need}): score {score}")
    facts = {"spend_usd": usd, "annualised_days": inputs.history_days if usd is not None and inputs.history_days < 365
             else None, "scale": scale, "months": months, "cooperation": cooperation, "services": inputs.services,
             "need": need, "score": score}
    return TierVerdict(inputs.client_id, tier, score, usd, months, reason, facts)


def reason_in(facts: Mapping[str, Any]) -> str:
    """The verdict's reason in the language in use, plural forms included."""
    if facts["spend_usd"] is None:
        spend = gettext_("12-month spend unknown: a currency without a rate (scale %(scale)s)") % facts
    elif facts["annualised_days"]:
        spend = ngettext_("12-month spend %(spend)s, annualised from %(num)s day (scale %(scale)s)",
                          "12-month spend %(spend)s, annualised from %(num)s days (scale %(scale)s)",
                          facts["annualised_days"]) % {
            "spend": f"{i18n.number(facts['spend_usd'], 0)} USD", "num": facts["annualised_days"],
            "scale": facts["scale"]}
    else:
        spend = gettext_("12-month spend %(spend)s (scale %(scale)s)") % {
            "spend": f"{i18n.number(facts['spend_usd'], 0)} USD", "scale": facts["scale"]}
    months = ngettext_("%(num)s month together (cooperation %(points)s)",
                       "%(num)s months together (cooperation %(points)s)", facts["months"]) % {
        "num": facts["months"], "points": facts["cooperation"]}
    services = ngettext_("%(num)s service line (need %(points)s)", "%(num)s service lines (need %(points)s)",
                         facts["services"]) % {"num": facts["services"], "points": facts["need"]}
    score = gettext_("score %(score)s") % facts
    return gettext_(N_("; ")).join([spend, months, services, score])


def load_inputs(session: Session, as_of: dt.date, client_ids: Iterable[int] | None = None) -> list[TierInputs]:
    """Trailing-12-month spend per client and currency, its cooperation start and service lines."""
    query = select(Client.id, Client.cooperation_start, Client.services).where(Client.status != ClientStatus.CHURNED)
    spend_query = (
        select(AdAccount.client_id, AdAccount.currency, func.sum(DailyMetric.spend), func.min(DailyMetric.day))
        .join(Campaign, Campaign.account_id == AdAccount.id)
        .join(DailyMetric, DailyMetric.campaign_id == Campaign.id)
        .where(DailyMetric.day > as_of - dt.timedelta(days=365), DailyMetric.day <= as_of)
        .group_by(AdAccount.client_id, AdAccount.currency)
    )
    if client_ids is not None:
        ids = list(client_ids)
        query, spend_query = query.where(Client.id.in_(ids)), spend_query.where(AdAccount.client_id.in_(ids))
    spend: dict[int, dict[str, Decimal]] = {}
    first: dict[int, dt.date] = {}
    for client_id, currency, amount, earliest in session.execute(spend_query):
        spend.setdefault(client_id, {})[currency] = Decimal(amount or 0)
        first[client_id] = min(first.get(client_id, earliest), earliest)
    return [TierInputs(cid, spend.get(cid, {}), start, len(services or []),
                       (as_of - first[cid]).days + 1 if cid in first else 365)
            for cid, start, services in session.execute(query.order_by(Client.id))]


@dataclass(frozen=True)
class TierChange:
    client_id: int
    slug: str
    before: Tier
    after: Tier
    override: Tier | None
    reason: str
    facts: Mapping[str, Any]  # what reason_in() words in the reader's language


def recompute(session: Session, as_of: dt.date, now: dt.datetime,
              client_ids: Iterable[int] | None = None) -> tuple[list[TierVerdict], list[TierChange]]:
    """Write every client's computed tier and stamp it; returns the verdicts and the changed ones."""
    verdicts = [assign_tier(i, as_of) for i in load_inputs(session, as_of, client_ids)]
    current = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_([v.client_id for v in verdicts])))}
    changes = []
    for v in verdicts:
        client = current[v.client_id]
        if client.tier != v.tier:
            changes.append(TierChange(v.client_id, client.slug, client.tier, v.tier, client.tier_override, v.reason,
                                      v.facts))
        session.execute(update(Client).where(Client.id == v.client_id).values(tier=v.tier, tier_computed_at=now))
    return verdicts, changes


def due_for_recompute(session: Session, as_of: dt.datetime) -> bool:
    """True if some active client's tier was not computed yet this month (a missed month catches up)."""
    month_start = dt.datetime(as_of.year, as_of.month, 1, tzinfo=dt.timezone.utc)
    stale = select(Client.id).where(Client.status != ClientStatus.CHURNED,
                                    (Client.tier_computed_at.is_(None)) | (Client.tier_computed_at < month_start))
    return session.execute(stale.limit(1)).first() is not None


def change_messages(session: Session, changes: Sequence[TierChange], as_of: dt.date) -> list[dict[str, Any]]:
    """One note per owner AM listing their clients whose computed tier changed, keyed by month, in the AM's language."""
    if not changes:
        return []
    owners = dict(session.execute(select(Client.id, Client.owner_am_id)
                                  .where(Client.id.in_([c.client_id for c in changes]))).all())
    names = dict(session.execute(select(Client.id, Client.name).where(Client.id.in_(list(owners)))).all())
    by_am: dict[int, list[TierChange]] = {}
    for c in changes:
        by_am.setdefault(owners[c.client_id], []).append(c)
    messages = []
    for am in session.scalars(select(Staff).where(Staff.id.in_(list(by_am))).order_by(Staff.email)):
        language = am.language.value
        n = len(by_am[am.id])
        with i18n.use(language):
            listed = [{"client": names[c.client_id], "before": internal_mail.tier(c.before.value),
                       "after": internal_mail.tier(c.after.value),
                       "override": internal_mail.tier(c.override.value) if c.override else None,
                       "reason": reason_in(c.facts)} for c in by_am[am.id]]
            subject = ngettext_("Tier change for %(num)s of your clients", "Tier changes for %(num)s of your clients",
                                n) % {"num": n}
        ctx = {"as_of": as_of, "changes": listed, "language": language}
        messages.append({
            "flow": FLOW, "kind": "tier-change", "period": f"{as_of:%Y-%m}", "client_slug": None,
            "audience": Audience.INTERNAL, "client_id": None, "contact_id": None, "staff_id": am.id,
            "recipient": am.email, "language": Language(language), "subject": subject,
            "body_text": render_in(language, "email/tier_change.txt.j2", **ctx),
            "body_html": render_in(language, "email/tier_change.html.j2", **ctx),
            "is_crisis": False, "meta": {"clients": [names[c.client_id] for c in by_am[am.id]]},
        })
    return messages


def recompute_and_notify(session: Session, as_of: dt.date, now: dt.datetime) -> dict[str, Any]:
    """Recompute every tier, tell each AM about their changes; plain values for artifacts and the CLI."""
    verdicts, changes = recompute(session, as_of, now)
    enqueue(session, change_messages(session, changes, as_of))
    return {"recomputed": len(verdicts),
            "changes": [{"client": c.slug, "before": c.before.value, "after": c.after.value,
                         "override": c.override.value if c.override else "", "reason": c.reason} for c in changes]}
