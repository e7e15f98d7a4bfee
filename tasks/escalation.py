"""Incidents: open once per cause, acknowledge, advance through the client stages, and climb the ladder on timeouts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    AdAccount,
    Campaign,
    Client,
    Contact,
    Finding,
    Incident,
    IncidentEvent,
    Staff,
)
from models.enums import Audience, IncidentSource, IncidentStage, Language
from tasks import i18n, internal_mail
from tasks.db import insert_missing
from tasks.errors import CadenceError
from tasks.i18n import N_, gettext_, ngettext_
from tasks.messaging import enqueue
from tasks.messaging.compose import client_message, compose, preferences, sender
from tasks.render import render, render_in
from tasks.reports import client_view

FLOW = "crisis-escalation"
LEVELS = (N_("owner AM"), N_("team lead"), N_("director"))
STAGE_ORDER = [IncidentStage.OPENED, IncidentStage.FACTS, IncidentStage.SOLUTION, IncidentStage.PREVENTION,
               IncidentStage.CLOSED]
CLIENT_STAGES = (IncidentStage.FACTS, IncidentStage.SOLUTION, IncidentStage.PREVENTION)


@dataclass(frozen=True)
class LadderPolicy:
    """Seed 003's golden four hours, and how long an incident may go unacknowledged at each rung."""

    golden: dt.timedelta = dt.timedelta(hours=4)
    to_team_lead: dt.timedelta = dt.timedelta(minutes=30)
    to_director: dt.timedelta = dt.timedelta(minutes=60)
    # When the client hears from us again after the solution stage.
    follow_up: dt.timedelta = dt.timedelta(hours=24)


POLICY = LadderPolicy()


def target_level(opened_at: dt.datetime, acknowledged_at: dt.datetime | None, doc_at: dt.datetime | None,
                 golden_deadline_at: dt.datetime, as_of: dt.datetime,
                 policy: LadderPolicy = POLICY) -> tuple[int, list[str]]:
    """The rung an incident should be on at `as_of`, from its rows alone, with the reasons."""
    unacked_until = min(acknowledged_at, as_of) if acknowledged_at else as_of
    level, reasons = 0, []
    if unacked_until >= opened_at + policy.to_team_lead:
        level = 1
        reasons.append(f"not acknowledged within {_minutes(policy.to_team_lead)}")
    if unacked_until >= opened_at + policy.to_director:
        level = 2
        reasons.append(f"not acknowledged within {_minutes(policy.to_director)}")
    if golden_missed(doc_at, golden_deadline_at, as_of):
        level = 2
        reasons.append("no root-cause and solution document by the golden deadline")
    return level, reasons


def golden_missed(doc_at: dt.datetime | None, golden_deadline_at: dt.datetime, as_of: dt.datetime) -> bool:
    """True once the golden deadline has passed without the root-cause document (or with it late)."""
    if doc_at is not None:
        return doc_at > golden_deadline_at
    return as_of >= golden_deadline_at


def _minutes(span: dt.timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} minutes"


def ladder(session: Session, client: Client) -> list[Staff | None]:
    """Owner AM, team lead (the client's or the AM's manager), director (the client's or the lead's manager)."""
    owner = session.get(Staff, client.owner_am_id)
    lead = session.get(Staff, client.team_lead_id) if client.team_lead_id else None
    if lead is None and owner is not None and owner.manager_id:
        lead = session.get(Staff, owner.manager_id)
    director = session.get(Staff, client.director_id) if client.director_id else None
    if director is None and lead is not None and lead.manager_id:
        director = session.get(Staff, lead.manager_id)
    return [owner, lead, director]


def _event(session: Session, incident_id: int, at: dt.datetime, kind: str, detail: str = "",
           actor: str = "cadence") -> None:
    session.add(IncidentEvent(incident_id=incident_id, at=at, kind=kind, actor=actor, detail=detail))


def _incident_view(incident: Incident, client: Client, notes: dict[str, list[str]]) -> dict[str, Any]:
    return {"id": incident.id, "title": incident.cause.splitlines()[0][:200], "cause": incident.cause,
            "stage": incident.stage.value, "opened_at": incident.opened_at,
            "golden_deadline_at": incident.golden_deadline_at, "level": incident.escalation_level,
            "client": client.name, "facts": notes.get("facts", []), "solution": notes.get("solution", []),
            "prevention": notes.get("prevention", []), "responsibility": notes.get("responsibility", [])}


def _reason_in(reason: str) -> str:
    """An escalation reason from `target_level` in the language in use."""
    late = re.fullmatch(r"not acknowledged within (\d+) minutes", reason)
    if late:
        n = int(late.group(1))
        return ngettext_("not acknowledged within %(num)s minute", "not acknowledged within %(num)s minutes", n) % {
            "num": n}
    if reason == "no root-cause and solution document by the golden deadline":
        return gettext_("no root-cause and solution document by the golden deadline")
    return reason


def _internal(incident: Incident, client: Client, staff: Staff, kind: str, subject: str, headline: str,
              lines: Sequence[str], owner: Staff | None, is_crisis: bool = True,
              values: dict[str, Any] | None = None) -> dict[str, Any]:
    """An incident notice to one member of staff in their language and time zone; `subject`, `headline` and
    `lines` are msgids formatted with the incident's values (id, client, cause, deadline, owner) and `values`."""
    language, zone = staff.language.value, staff.time_zone or "UTC"
    with i18n.use(language):
        v = {"id": incident.id, "client": client.name, "cause": incident.cause.splitlines()[0][:150],
             "deadline": internal_mail.when(incident.golden_deadline_at, zone),
             "owner": owner.name if owner else gettext_("the owner AM"), **(values or {})}
        view = _incident_view(incident, client, {})
        view |= {"stage": internal_mail.incident_stage(view["stage"]), "opened": internal_mail.when(
            incident.opened_at, zone), "deadline": v["deadline"]}
        words = {"subject": gettext_(subject) % v, "headline": gettext_(headline) % v,
                 "lines": [gettext_(line) % v for line in lines]}
    ctx = {"headline": words["headline"], "lines": words["lines"], "incident": view,
           "owner": {"name": owner.name, "email": owner.email} if owner else None, "client": client.name,
           "recipient": staff.name, "doc": incident.root_cause_doc or "", "language": language}
    return {"flow": FLOW, "kind": kind, "period": f"incident-{incident.id}", "client_slug": client.slug,
            "audience": Audience.INTERNAL, "client_id": client.id, "contact_id": None, "staff_id": staff.id,
            "recipient": staff.email, "language": Language(language), "subject": words["subject"],
            "body_html": render_in(language, "email/incident_notice.html.j2", **ctx),
            "body_text": render_in(language, "email/incident_notice.txt.j2", **ctx), "is_crisis": is_crisis,
            "meta": {"incident_id": incident.id}}


def stage_notes(session: Session, incident_id: int, people_only: bool = False) -> dict[str, list[str]]:
    """What was recorded at each stage (facts, solution, prevention, responsibility), one line per item.

    `people_only` leaves out what Cadence recorded itself (a finding's evidence and AM advice): the client's view."""
    notes: dict[str, list[str]] = {}
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind.like("note:%"))
    if people_only:
        query = query.where(IncidentEvent.actor != "cadence")
    rows = session.scalars(query.order_by(IncidentEvent.id))
    for event in rows:
        notes.setdefault(event.kind.removeprefix("note:"), []).extend(
            line for line in event.detail.splitlines() if line.strip())
    return notes


def root_cause_doc(incident: Incident, client: Client, owner: Staff | None, notes: dict[str, list[str]],
                   draft: bool) -> str:
    """Seed 003's order: acknowledge the problem, analyse the cause, give the solution, take responsibility."""
    return render("email/incident_root_cause.md.j2", incident=_incident_view(incident, client, notes),
                  owner={"name": owner.name, "email": owner.email} if owner else None, draft=draft)


def finding_dedupe_key(session: Session, payload: dict[str, Any]) -> tuple[str, int | None]:
    """The sweep's payload names a finding by its natural key; its id makes the incident's dedupe key.

    A problem that already has an incident still open (it went critical, warning, critical again on later
    days) keeps that incident: its key is returned, so the event opens nothing new."""
    day = dt.date.fromisoformat(str(payload["day"]))
    open_one = session.execute(
        select(Incident.dedupe_key, Incident.finding_id).join(Finding, Finding.id == Incident.finding_id).where(
            Incident.stage != IncidentStage.CLOSED, Finding.client_id == int(payload["client_id"]),
            Finding.account_id == int(payload["account_id"]), Finding.subject == str(payload["subject"]),
            Finding.detector == str(payload["detector"])).order_by(Incident.id)).first()
    if open_one is not None:
        return open_one.dedupe_key, open_one.finding_id
    finding_id = session.scalar(select(Finding.id).where(
        Finding.client_id == int(payload["client_id"]), Finding.account_id == int(payload["account_id"]),
        Finding.subject == str(payload["subject"]), Finding.detector == str(payload["detector"]), Finding.day == day))
    if finding_id is not None:
        return f"finding:{finding_id}", finding_id
    natural = f"finding:{payload['client_id']}:{payload['account_id']}:{payload['subject']}:{payload['detector']}:{day}"
    return natural[:80], None


def finding_cause(session: Session, payload: dict[str, Any]) -> tuple[str, list[str]]:
    """A one-line cause and the known facts, from the critical finding the sweep raised."""
    account = session.get(AdAccount, int(payload["account_id"]))
    campaign = session.get(Campaign, int(payload["campaign_id"])) if payload.get("campaign_id") else None
    where = ((account.name if account else f"account {payload['account_id']}")
             + (f" / {campaign.name}" if campaign else ""))
    detector = str(payload["detector"]).replace("_", " ")
    facts = [f"{detector} detected on {where} for {payload['day']}"]
    if payload.get("recommendation"):
        facts.append(str(payload["recommendation"]))
    return f"{detector}: {where} ({payload['day']})", facts


@dataclass(frozen=True)
class Opened:
    incident_id: int
    created: bool


def open_incident(session: Session, *, client_id: int, source: IncidentSource, dedupe_key: str, cause: str,
                  now: dt.datetime, finding_id: int | None = None, facts: Sequence[str] = (),
                  actor: str = "cadence", policy: LadderPolicy = POLICY) -> Opened:
    """Open the incident for this cause, or return the one already open: a duplicate trigger opens nothing."""
    client = session.get(Client, client_id)
    if client is None:
        raise CadenceError(f"no client with id {client_id}")
    created = insert_missing(session, Incident.__table__, [{
        "dedupe_key": dedupe_key, "client_id": client_id, "finding_id": finding_id, "source": source,
        "opened_at": now, "cause": cause, "golden_deadline_at": now + policy.golden, "owner_id": client.owner_am_id,
        "stage": IncidentStage.OPENED, "escalation_level": 0,
    }], ["dedupe_key"]) == 1
    incident = session.scalars(select(Incident).where(Incident.dedupe_key == dedupe_key)).one()
    if not created:
        return Opened(incident.id, False)
    owner, lead, _director = ladder(session, client)
    _event(session, incident.id, now, "opened", f"{source.value}: {cause}", actor)
    if facts:
        _event(session, incident.id, now, "note:facts", "\n".join(facts), actor)
    incident.root_cause_doc = root_cause_doc(incident, client, owner, stage_notes(session, incident.id), draft=True)
    _event(session, incident.id, now, "doc-drafted", "root cause + preliminary solution: draft written")
    group = [s for s in (owner, lead) if s is not None]
    lines = [N_("Golden deadline: %(deadline)s — the root-cause and preliminary-solution document must be in by"
                " then."),
             N_("Only %(owner)s speaks to the client about this."),
             N_("Acknowledge now: `cadence incident ack` or the incident-action deployment in the Prefect UI.")]
    enqueue(session, [_internal(incident, client, s, "incident-opened", N_("[incident #%(id)s] %(client)s: %(cause)s"),
                                N_("A crisis was opened for your client."), lines, owner) for s in group])
    _event(session, incident.id, now, "notified", "crisis group: " + ", ".join(s.email for s in group))
    return Opened(incident.id, True)


def _staff_by_email(session: Session, email: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.email == email)).one_or_none()
    if staff is None:
        raise CadenceError(f"no staff member with email {email!r}")
    return staff


def _load(session: Session, incident_id: int) -> tuple[Incident, Client]:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise CadenceError(f"no incident #{incident_id}: see `cadence incident list`")
    return incident, session.get(Client, incident.client_id)


def acknowledge(session: Session, incident_id: int, by: str, now: dt.datetime) -> bool:
    """Record the first acknowledgement; a second one changes nothing. Returns whether this one counted."""
    incident, _client = _load(session, incident_id)
    staff = _staff_by_email(session, by)
    changed = session.execute(
        update(Incident).where(Incident.id == incident_id, Incident.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=staff.id)
    ).rowcount
    if changed:
        _event(session, incident_id, now, "acknowledged", f"by {staff.name} <{staff.email}>", staff.email)
    session.refresh(incident)
    return bool(changed)


def following_stage(stage: IncidentStage) -> IncidentStage | None:
    """The one stage an incident may move to from `stage`; None once it is closed."""
    at = STAGE_ORDER.index(stage)
    return STAGE_ORDER[at + 1] if at + 1 < len(STAGE_ORDER) else None


def advance(session: Session, incident_id: int, to: IncidentStage, by: str, now: dt.datetime,
            notes: Sequence[str] = (), responsibility: Sequence[str] = (),
            policy: LadderPolicy = POLICY, *, agency_name: str) -> list[str]:
    """Move to the next stage; facts, solution and prevention each go to the client at once, from the owner AM at
    `agency_name`. Returns what happened."""
    incident, client = _load(session, incident_id)
    staff = _staff_by_email(session, by)
    if to == incident.stage:
        return [f"incident #{incident_id} is already at {to.value}"]
    following = following_stage(incident.stage)
    if to != following:
        nxt = following.value if following is not None else "nothing (closed)"
        raise CadenceError(f"incident #{incident_id} is at {incident.stage.value}: the next stage is {nxt}")
    if to in CLIENT_STAGES and not notes and not stage_notes(session, incident_id).get(to.value):
        raise CadenceError(f"moving to {to.value} tells the client about it: give at least one --note")
    done = []
    if acknowledge(session, incident_id, by, now):
        done.append(f"acknowledged by {staff.email}")
    if notes:
        _event(session, incident_id, now, f"note:{to.value}", "\n".join(notes), staff.email)
    if responsibility:
        _event(session, incident_id, now, "note:responsibility", "\n".join(responsibility), staff.email)
    session.execute(update(Incident).where(Incident.id == incident_id).values(stage=to))
    _event(session, incident_id, now, "stage", f"{incident.stage.value} → {to.value}", staff.email)
    session.flush()
    session.refresh(incident)
    recorded = stage_notes(session, incident_id)
    owner = session.get(Staff, incident.owner_id)
    if to == IncidentStage.SOLUTION:
        incident.root_cause_doc = root_cause_doc(incident, client, owner, recorded, draft=False)
        incident.root_cause_doc_at = now
        late = " (after the golden deadline)" if now > incident.golden_deadline_at else ""
        _event(session, incident_id, now, "doc-submitted", f"root cause + preliminary solution in{late}", staff.email)
        done.append(f"root-cause document submitted{late}")
    if to == IncidentStage.CLOSED:
        incident.closed_at = now
    if to in CLIENT_STAGES:
        follow = {IncidentStage.FACTS: incident.golden_deadline_at, IncidentStage.SOLUTION: now + policy.follow_up}
        sent = _client_stage_messages(session, incident, client, owner, recorded, to, now, follow.get(to),
                                      agency_name)
        _event(session, incident_id, now, "client-told", f"{to.value}: {sent} message(s) to the client", staff.email)
        done.append(f"{to.value} queued for {sent} contact(s), not held for business hours")
    done.append(f"stage {to.value}")
    return done


def _client_finding(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """The finding behind an incident as the client view reads it: detector, severity, campaign name and day."""
    if incident.finding_id is None:
        return []
    row = session.execute(select(Finding.detector, Finding.severity, Finding.day, Campaign.name)
                          .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
                          .where(Finding.id == incident.finding_id)).first()
    if row is None:
        return []
    return [{"detector": row.detector, "severity": getattr(row.severity, "value", row.severity), "day": row.day,
             "campaign": row.name}]


def _client_stage_messages(session: Session, incident: Incident, client: Client, owner: Staff | None,
                           notes: dict[str, list[str]], stage: IncidentStage, now: dt.datetime,
                           next_update_at: dt.datetime | None, agency_name: str) -> int:
    """One crisis notice per active contact in their language and tone, from the owner AM; none to a test client."""
    if client.is_test:
        return 0
    contacts = session.scalars(select(Contact).where(Contact.client_id == client.id, Contact.is_active.is_(True))
                               .order_by(Contact.id)).all()
    sent_as = sender(owner.name if owner else None, owner.email if owner else None, agency_name)
    # The client hears the AM's own words, or a client-safe phrasing of the finding: never Cadence's evidence
    # and advice for the AM (they are in English and written for the agency).
    said = stage_notes(session, incident.id, people_only=True)
    finding = _client_finding(session, incident)
    messages = []
    for contact in contacts:
        prefs = preferences(contact, client)
        told = {**said, "facts": said.get("facts") or list(client_view.next_steps(finding, prefs.language))}
        view = {**_incident_view(incident, client, told), "stage": stage.value, "next_update_at": next_update_at}
        composed = compose("crisis_notice", prefs, {
            "client": {"name": client.name}, "zone": prefs.window.zone, "incident": view,
            "am": {"name": owner.name if owner else "", "email": owner.email if owner else ""}})
        messages.append(client_message(flow=FLOW, kind=f"crisis-{stage.value}", period=f"incident-{incident.id}",
                                       client_slug=client.slug, client_id=client.id, contact_id=contact.id,
                                       prefs=prefs, composed=composed, now=now, is_crisis=True,
                                       tier=client.effective_tier.value, settings=client.settings,
                                       meta={"incident_id": incident.id}, sent_as=sent_as))
    enqueue(session, messages)
    return len(messages)


def escalate_due(session: Session, as_of: dt.datetime, policy: LadderPolicy = POLICY) -> list[dict[str, Any]]:
    """Raise every open incident to the rung its rows call for; a rung already reached is never raised again."""
    actions = []
    rows = session.execute(select(Incident, Client).join(Client, Client.id == Incident.client_id)
                           .where(Incident.closed_at.is_(None), Incident.opened_at <= as_of)).all()
    for incident, client in rows:
        level, reasons = target_level(incident.opened_at, incident.acknowledged_at, incident.root_cause_doc_at,
                                      incident.golden_deadline_at, as_of, policy)
        missed = golden_missed(incident.root_cause_doc_at, incident.golden_deadline_at, as_of)
        flagged = missed and session.scalar(select(IncidentEvent.id).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "golden-deadline-missed").limit(1))
        if level <= incident.escalation_level and (not missed or flagged):
            continue
        rungs = ladder(session, client)
        owner = rungs[0]
        messages = []
        if missed and not flagged:
            _event(session, incident.id, as_of, "golden-deadline-missed",
                   f"deadline {incident.golden_deadline_at:%Y-%m-%d %H:%M} UTC passed without the root-cause document")
            actions.append({"incident_id": incident.id, "action": "golden-deadline-missed"})
            lines = [N_("The root-cause and preliminary-solution document was not in by the golden deadline."),
                     N_("Submit it now: `cadence incident advance --to solution` with the cause and the solution.")]
            # The rungs called in this pass hear it in their escalation; otherwise the top rung hears it here.
            told = (owner,) if level > incident.escalation_level else (owner, rungs[2] or rungs[1])
            messages.extend(_internal(incident, client, person, "incident-deadline-missed",
                                      N_("[incident #%(id)s DEADLINE MISSED] %(client)s"),
                                      N_("The golden four hours are over."), lines, owner)
                            for person in {p.id: p for p in told if p}.values())
        previous = incident.escalation_level
        if level > previous:
            # Compare-and-set on the level: two runs at once cannot both raise it.
            raised = session.execute(
                update(Incident).where(Incident.id == incident.id, Incident.escalation_level == previous)
                .values(escalation_level=level, escalated_at=as_of)
            ).rowcount
            if not raised:
                continue
            for rung in range(previous + 1, level + 1):
                person = rungs[rung]
                if person is None:
                    _event(session, incident.id, as_of, "escalation-gap",
                           f"no {LEVELS[rung]} on file for {client.slug}")
                    continue
                _event(session, incident.id, as_of, "escalated",
                       f"to {LEVELS[rung]} {person.email}: " + "; ".join(reasons))
                with i18n.use(person.language.value):
                    why = [gettext_("Why: %(reason)s.") % {"reason": _reason_in(r)} for r in reasons]
                    level_name = gettext_(LEVELS[rung])
                # Each reason is already in the reader's language: a "%" in it is a literal one.
                lines = [*(w.replace("%", "%%") for w in why), N_("Owner and only outward voice: %(owner)s."),
                         N_("Acknowledge or advance: `cadence incident ack|advance` or the incident-action"
                            " deployment.")]
                messages.append(_internal(incident, client, person, f"incident-escalated-l{rung}",
                                          N_("[incident #%(id)s ESCALATED to %(level)s] %(client)s"),
                                          N_("Escalated to you as %(level)s."), lines, owner,
                                          values={"level": level_name}))
            actions.append({"incident_id": incident.id, "action": f"escalated to level {level}", "reasons": reasons})
        enqueue(session, messages)
    return actions


def timeline(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The incident's events in order, as plain rows."""
    rows = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                           .order_by(IncidentEvent.at, IncidentEvent.id))
    return [{"at": e.at.strftime("%Y-%m-%d %H:%M UTC"), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in rows]


def timeline_markdown(session: Session, incident_id: int) -> str:
    """A readable timeline for the Prefect UI: state first, then every event."""
    incident, client = _load(session, incident_id)
    owner = session.get(Staff, incident.owner_id)
    doc_state = ("in at " + format(incident.root_cause_doc_at, "%Y-%m-%d %H:%M") + " UTC"
                 if incident.root_cause_doc_at else "draft only")
    head = [f"# Incident #{incident.id}: {client.name}", "",
            f"- cause: {incident.cause}", f"- stage: **{incident.stage.value}**",
            f"- owner (only outward voice): {owner.name if owner else incident.owner_id}",
            f"- opened: {incident.opened_at:%Y-%m-%d %H:%M} UTC; "
            f"golden deadline: {incident.golden_deadline_at:%Y-%m-%d %H:%M} UTC",
            "- acknowledged: "
            f"{f'{incident.acknowledged_at:%Y-%m-%d %H:%M} UTC' if incident.acknowledged_at else '**no**'}",
            f"- escalation: level {incident.escalation_level} ({LEVELS[incident.escalation_level]})",
            f"- root-cause document: {doc_state}",
            "", "| when | what | who | detail |", "|---|---|---|---|"]
    for e in timeline(session, incident_id):
        detail = e["detail"].replace("\n", "<br>").replace("|", "\\|")
        head.append(f"| {e['at']} | {e['kind']} | {e['actor']} | {detail} |")
    return "\n".join(head)


def any_open_incident(session: Session, as_of: dt.datetime) -> bool:
    """A cheap look before the ladder's task: is any incident open at `as_of`?"""
    return session.execute(select(Incident.id).where(Incident.closed_at.is_(None), Incident.opened_at <= as_of)
                           .limit(1)).first() is not None


def open_incident_choices(session: Session) -> list[str]:
    """The open incidents as a form offers them: `#3 acme-shop (facts)`, oldest first."""
    rows = session.execute(select(Incident.id, Client.slug, Incident.stage)
                           .join(Client, Client.id == Incident.client_id)
                           .where(Incident.closed_at.is_(None)).order_by(Incident.id)).all()
    return [f"#{i} {slug} ({stage.value})" for i, slug, stage in rows]


def next_stage(incident_id: int, slug: str, current: IncidentStage, requested: str) -> IncidentStage:
    """The stage an advance goes to: `next`, or the named one if it is the next; otherwise one line naming it.

    The stage it is already at is returned as it is: a re-run of the same form says "already at", not an error."""
    if requested == current.value:
        return current
    following = following_stage(current)
    if following is None:
        raise CadenceError(f"incident #{incident_id} ({slug}) is closed: there is no next stage")
    if requested in ("next", following.value):
        return following
    if requested not in {s.value for s in STAGE_ORDER}:
        raise CadenceError(f"unknown stage {requested!r}: choose next or {following.value}")
    raise CadenceError(f"incident #{incident_id} ({slug}) is at {current.value}: the next stage is "
                       f"{following.value} (choose next or {following.value}), not {requested}")


INCIDENT_ID_HELP = "the incident's number (`cadence incident list`)"


def incident_id_help(choices: list[str]) -> str:
    """What the incident form says under its number: the open incidents with their clients and stages."""
    listed = "; ".join(choices) if choices else "none"
    return f"{INCIDENT_ID_HELP}. Open now: {listed}"
