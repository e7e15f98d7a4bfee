"""The audience boundary: what a client may read, built once from the internal facts into client-safe types."""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.enums import LabelKind, Visibility
from models.service import PRIVATE_KINDS, DisplayName, default_visibility
from tasks import i18n
from tasks.i18n import N_

AGENCY_SCOPE = "*"
# What the client reads about a finding: what we are doing about it, in its words. Detectors not listed
# (churn_signal, paused_by_client, data_quality: the relationship and our own plumbing) say nothing to clients.
CLIENT_PHRASES: dict[str, tuple[str, str]] = {
    "spend_without_conversions": (
        N_("We saw %(campaign)s spend without bringing conversions on %(day)s "
           "and are reviewing its targeting and bids."),
        N_("We saw spend without conversions on %(day)s and are reviewing targeting and bids."),
    ),
    "cpa_above_band": (
        N_("We are bringing the cost per conversion of %(campaign)s back into your target range."),
        N_("We are bringing the cost per conversion back into your target range."),
    ),
    "underdelivery_low_bid": (
        N_("%(campaign)s is reaching fewer people than planned; we are adjusting its bids."),
        N_("Some campaigns are reaching fewer people than planned; we are adjusting their bids."),
    ),
    "launch_guard": (
        N_("We are checking the settings of the newly launched %(campaign)s."),
        N_("We are checking the settings of the newly launched campaigns."),
    ),
    "budget_pacing": (
        N_("We are adjusting the daily budgets of %(campaign)s to keep spend in line with your monthly budget."),
        N_("We are adjusting daily budgets to keep spend in line with your monthly budget."),
    ),
    "anomaly": (
        N_("We saw an unusual change in %(campaign)s on %(day)s and are looking into the cause."),
        N_("We saw an unusual change in your results on %(day)s and are looking into the cause."),
    ),
    "tracking_broken": (
        N_("We saw conversions stop on %(campaign)s on %(day)s and are checking the tracking with your team."),
        N_("We saw conversions stop being recorded on %(day)s and are checking the tracking with your team."),
    ),
}
NEXT_STEPS = 3
CLIENT_FIELDS = ("name", "currency", "industry", "market")
# Keys that only internal facts carry: a client view holding one of them is a leak, whatever its path.
FORBIDDEN_KEYS = frozenset({"recommendation", "detector", "evidence", "settings", "slug", "am", "tier", "severity",
                            "visibility_override", "note", "cooperation_start"})
CLIENT_TEMPLATES = frozenset({"report/recap.html.j2", "report/strategy_pack.html.j2"})


class ClientLeak(ValueError):
    """Internal data reached a client-facing view."""


def humanise(key: str) -> str:
    """A slug as words for when no display name exists: `new-product-launch` → `New product launch`."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else key


@dataclass(frozen=True)
class Labels:
    """A client's display names: (kind, key, language) → text, its own over the agency-wide ones."""

    names: Mapping[tuple[str, str, str], str] = field(default_factory=dict)

    def name(self, kind: str, key: str, language: str, missing: set[tuple[str, str, str]] | None = None) -> str:
        """The label in `language`; English falls back to the key humanised, others note it as missing."""
        found = self.names.get((kind, key, language))
        if found:
            return found
        if language != "en" and missing is not None:
            missing.add((kind, key, language))
        english = self.names.get((kind, key, "en"))
        if english:
            return english
        return humanise(key) if kind == LabelKind.INITIATIVE.value else key


def labels_from_rows(rows: Iterable[Mapping[str, Any]], slug: str) -> Labels:
    """Merge display-name rows: the client's own (scope = slug) win over the agency-wide ones (scope = "*")."""
    merged: dict[tuple[str, str, str], str] = {}
    for wanted in (AGENCY_SCOPE, slug):
        for r in rows:
            if r["scope"] == wanted:
                merged[(r["kind"], r["key"], r["language"])] = r["text"]
    return Labels(merged)


def load_labels(engine: Engine, slugs: Sequence[str]) -> dict[str, Labels]:
    """Each client's Labels, by slug, in one query."""
    with Session(engine) as s:
        rows = [{"scope": d.scope, "kind": d.kind.value, "key": d.key, "language": d.language.value, "text": d.text}
                for d in s.scalars(select(DisplayName).where(DisplayName.scope.in_([AGENCY_SCOPE, *slugs])))]
    return {slug: labels_from_rows(rows, slug) for slug in slugs}


def is_shareable(key_date: Mapping[str, Any]) -> bool:
    """A key date a client may read: stored as shareable (or, without a stored visibility, of a shareable kind)."""
    visibility = key_date.get("visibility") or default_visibility(key_date["kind"])
    return Visibility(getattr(visibility, "value", visibility)) is Visibility.SHAREABLE


def shareable(key_dates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only the key dates a client may read; private ones stay with the AM's reminders."""
    return [dict(k) for k in key_dates if is_shareable(k)]


def next_steps(findings: Iterable[Mapping[str, Any]], language: str) -> tuple[str, ...]:
    """What the client reads about open findings: one client-safe, translated sentence per detector, at most three;
    several campaigns with the same finding are told once, without names."""
    by_detector: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        if f["detector"] in CLIENT_PHRASES and f["severity"] in ("critical", "warning"):
            by_detector.setdefault(f["detector"], []).append(f)
    out: list[str] = []
    with i18n.use(language):
        for detector, found in list(by_detector.items())[:NEXT_STEPS]:
            named, unnamed = CLIENT_PHRASES[detector]
            campaigns = {f.get("campaign") for f in found}
            first = found[0]
            day = i18n.date(first["day"]) if first.get("day") else ""
            if len(campaigns) == 1 and first.get("campaign"):
                out.append(i18n.gettext_(named) % {"campaign": first["campaign"], "day": day})
            else:
                out.append(i18n.gettext_(unnamed) % {"day": day})
    return tuple(out)


def note_line(note: Mapping[str, Any], language: str) -> str:
    """An AM's optimisation note as one line, the reason in brackets the way the language writes them."""
    if not note.get("reason"):
        return str(note["action"])
    if language == "zh":
        return f"{note['action']}（{note['reason']}）"
    return f"{note['action']} ({note['reason']})"


@dataclass(frozen=True)
class ClientUpdate:
    """A stand-up client update as the client may read it: no findings, no advice for the AM, no internal names."""

    language: str
    client_name: str
    currency: str
    period: tuple[dt.date, dt.date]
    kpis: Mapping[str, Any]
    previous: Mapping[str, Any] | None
    cpa_band: Mapping[str, Any] | None
    campaigns: tuple[Mapping[str, Any], ...]
    actions: tuple[str, ...]
    next_steps: tuple[str, ...]
    am_name: str
    am_email: str


def client_update(client: Mapping[str, Any], language: str, period: tuple[dt.date, dt.date],
                  kpis: Mapping[str, Any], previous: Mapping[str, Any] | None,
                  campaigns: Sequence[Mapping[str, Any]], notes: Iterable[Mapping[str, Any]],
                  findings: Iterable[Mapping[str, Any]]) -> ClientUpdate:
    """The one way to a client update: the AM's notes as what we did, client phrasings of findings as next steps."""
    rows = tuple({k: c[k] for k in ("name", "spend", "conversions", "cpa", "ctr") if k in c} for c in campaigns)
    return ClientUpdate(
        language=language, client_name=client["name"], currency=client["currency"], period=period,
        kpis=dict(kpis), previous=dict(previous) if previous else None,
        cpa_band=dict(client["cpa_band"]) if client.get("cpa_band") else None, campaigns=rows,
        actions=tuple(note_line(n, language) for n in notes), next_steps=next_steps(findings, language),
        am_name=client["am"]["name"], am_email=client["am"]["email"])


@dataclass(frozen=True)
class ClientReport:
    """A recap or strategy pack's context as the client may read it, in one language: the only thing those
    templates render."""

    kind: str
    language: str
    values: dict[str, Any]


def _private_titles(key_dates: Iterable[Mapping[str, Any]]) -> set[str]:
    return {k["title"] for k in key_dates if not is_shareable(k)}


def _drop_private(items: Any, private: set[str]) -> Any:
    """Items that name a private key date (by kind, visibility or title) removed from a list of dicts."""
    if not isinstance(items, list):
        return items
    kept = []
    for item in items:
        if isinstance(item, Mapping):
            kind = item.get("kind")
            if kind in {k.value for k in PRIVATE_KINDS} and "visibility" not in item:
                continue
            if "visibility" in item and not is_shareable(item):
                continue
            if item.get("title") in private:
                continue
        kept.append(item)
    return kept


def _labelled(item: Any, labels: Labels, language: str, missing: set[tuple[str, str, str]],
              initiative_names: set[str]) -> Any:
    """A plan, risk or opportunity point with its key-date title and initiative name in the reader's language."""
    if not isinstance(item, Mapping):
        return item
    out = dict(item)
    if "title" in out and ("on" in out or "kind" in out):
        out["title"] = labels.name(LabelKind.KEY_DATE.value, out["title"], language, missing)
    for key in ("name", "compared_with"):  # a plan point may name the initiative it is compared with too
        if out.get(key) in initiative_names:
            out[key] = labels.name(LabelKind.INITIATIVE.value, out[key], language, missing)
    return {k: v for k, v in out.items() if k not in FORBIDDEN_KEYS}


def client_report(ctx: Mapping[str, Any], language: str, labels: Labels,
                  key_dates: Iterable[Mapping[str, Any]] = (),
                  missing: set[tuple[str, str, str]] | None = None) -> ClientReport:
    """The one way from a recap or pack context to what its template renders: private dates out, labels localised,
    internal names out; anything internal left over raises ClientLeak."""
    missing = set() if missing is None else missing
    values = copy.deepcopy(dict(ctx))
    values["client"] = {k: ctx["client"][k] for k in CLIENT_FIELDS if k in ctx["client"]}
    private = _private_titles(key_dates)
    initiative_names = {i["name"] for i in ctx.get("initiatives", [])}
    if "initiatives" in values:
        values["initiatives"] = [{**i, "name": labels.name(LabelKind.INITIATIVE.value, i["name"], language, missing)}
                                 for i in values["initiatives"]]
    for key in ("plan", "risks", "opportunities", "key_dates", "dates"):
        if isinstance(values.get(key), list):
            values[key] = [_labelled(item, labels, language, missing, initiative_names)
                           for item in _drop_private(values[key], private)]
    assert_client_safe(values, private)
    return ClientReport(str(ctx["kind"]), language, values)


def assert_client_safe(values: Any, private_titles: set[str] = frozenset(), path: str = "") -> None:
    """Walk a client view: an internal key, a private key date or a private title anywhere raises ClientLeak."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if key in FORBIDDEN_KEYS:
                raise ClientLeak(f"internal field {path}.{key} in a client view")
            if key == "kind" and value in {k.value for k in PRIVATE_KINDS}:
                raise ClientLeak(f"private key date ({value}) at {path} in a client view")
            if key == "title" and value in private_titles:
                raise ClientLeak(f"private key date {value!r} at {path} in a client view")
            assert_client_safe(value, private_titles, f"{path}.{key}")
    elif isinstance(values, (list, tuple)):
        for n, value in enumerate(values):
            assert_client_safe(value, private_titles, f"{path}[{n}]")


def warn_missing(missing: Iterable[tuple[str, str, str]], client: str) -> list[str]:
    """Each missing display name as a run-log line telling the AM how to fill it in (`cadence label set`)."""
    lines = [f"{client}: no {language} name for {kind} {key!r} (cadence label set --client {client} "
             f"--{kind.replace('_', '-')} {key!r} --language {language} ...)"
             for kind, key, language in sorted(missing)]
    return lines


def missing_names(engine: Engine) -> list[dict[str, str]]:
    """Every initiative and client-facing key date without a display name in a language one of its contacts reads."""
    from models import AdAccount, Campaign, Client, Contact, KeyDate

    with Session(engine) as s:
        clients = {c.id: c.slug for c in s.scalars(select(Client))}
        markets = dict(s.execute(select(Client.id, Client.market)).all())
        languages: dict[int, set[str]] = defaultdict(set)
        for cid, lang in s.execute(select(Contact.client_id, Contact.language).where(Contact.is_active.is_(True))):
            if getattr(lang, "value", lang) != "en":
                languages[cid].add(getattr(lang, "value", lang))
        wanted: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for cid, initiative in s.execute(select(AdAccount.client_id, Campaign.initiative).distinct()
                                         .join(Campaign, Campaign.account_id == AdAccount.id)):
            if initiative:
                wanted[cid].add((LabelKind.INITIATIVE.value, initiative))
        for k in s.scalars(select(KeyDate)):
            if not is_shareable({"kind": k.kind.value, "visibility": k.visibility}):
                continue
            for cid, market in markets.items():
                if k.client_id == cid or (k.client_id is None and k.market == market):
                    wanted[cid].add((LabelKind.KEY_DATE.value, k.title))
        rows = [{"scope": d.scope, "kind": d.kind.value, "key": d.key, "language": d.language.value, "text": d.text}
                for d in s.scalars(select(DisplayName))]
    out = []
    for cid, slug in sorted(clients.items(), key=lambda x: x[1]):
        labels = labels_from_rows(rows, slug)
        for kind, key in sorted(wanted[cid]):
            for language in sorted(languages[cid]):
                if (kind, key, language) not in labels.names:
                    out.append({"client": slug, "kind": kind, "key": key, "language": language})
    return out
