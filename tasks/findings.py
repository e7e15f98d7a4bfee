"""Findings in the database: idempotent upserts by natural key, resolution of what no longer holds."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, exists, select, update
from sqlalchemy.orm import Session, aliased

from models import Finding, Incident
from models.base import utcnow
from models.enums import FindingStatus, IncidentStage, Severity
from tasks.db import upsert

FINDING_KEY = ("client_id", "account_id", "subject", "detector", "day")
PROBLEM = ("client_id", "account_id", "subject", "detector")


@dataclass
class PersistResult:
    """What one persist step changed: counts, and the critical problems seen for the first time."""

    written: int = 0
    new: int = 0
    carried: int = 0
    resolved: int = 0
    new_critical: list[dict[str, Any]] = field(default_factory=list)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | pd.Timestamp):
        return value.isoformat()[:10]
    return value


def finding_rows(findings: pd.DataFrame, day: dt.date) -> list[dict[str, Any]]:
    """Detector output as plain rows ready for the database (JSON-safe evidence, Python ints)."""
    rows = []
    for rec in findings.to_dict("records"):
        campaign = rec.get("campaign_id")
        rows.append({
            "client_id": int(rec["client_id"]),
            "account_id": int(rec["account_id"]),
            "campaign_id": None if campaign is None or pd.isna(campaign) else int(campaign),
            "subject": str(rec["subject"]),
            "detector": str(rec["detector"]),
            "day": day,
            "severity": Severity(rec["severity"]),
            "evidence": json.loads(json.dumps(_json_safe(rec["evidence"]))),
            "recommendation": str(rec["recommendation"]),
        })
    return rows


def persist_findings(engine: Engine, client_ids: Sequence[int], day: dt.date,
                     findings: pd.DataFrame) -> PersistResult:
    """Write the day's findings for these clients; earlier open findings are carried forward or resolved.

    A problem (client, account, subject, detector) has one open row at a time: the newest day's. An
    acknowledgement carries over to the new day; a problem absent today is resolved. Re-running a day
    changes nothing, and a problem counts as new only once. A critical event is raised when a problem is
    first seen critical, or when an open problem turns critical (a warning that got worse): every critical
    problem gets its incident.
    """
    rows = finding_rows(findings, day)
    result = PersistResult(written=len(rows))
    ids = list(client_ids)
    with Session(engine) as s, s.begin():
        today_keys = set(s.execute(
            select(Finding.client_id, Finding.account_id, Finding.subject, Finding.detector)
            .where(Finding.client_id.in_(ids), Finding.day == day)
        ).tuples())
        earlier = s.execute(
            select(Finding.id, Finding.client_id, Finding.account_id, Finding.subject, Finding.detector,
                   Finding.status, Finding.severity, Finding.acknowledged_at, Finding.acknowledged_by,
                   Finding.ack_note)
            .where(Finding.client_id.in_(ids), Finding.day < day, Finding.status != FindingStatus.RESOLVED)
        ).all()
        before = {(r.client_id, r.account_id, r.subject, r.detector): r for r in earlier}
        now = utcnow()
        for row in rows:
            problem = tuple(row[k] for k in PROBLEM)
            previous = before.get(problem)
            ack = previous if previous is not None and previous.status is FindingStatus.ACKNOWLEDGED else None
            row["status"] = FindingStatus.ACKNOWLEDGED if ack is not None else FindingStatus.OPEN
            row["acknowledged_at"] = ack.acknowledged_at if ack is not None else None
            row["acknowledged_by"] = ack.acknowledged_by if ack is not None else None
            row["ack_note"] = ack.ack_note if ack is not None else None
            row["first_seen_at"] = now
            row["updated_at"] = now
            if problem in today_keys:
                continue
            carried = previous is not None
            result.carried += carried
            result.new += not carried
            if (row["severity"] is Severity.CRITICAL
                    and (previous is None or previous.severity is not Severity.CRITICAL)):
                result.new_critical.append({
                    "client_id": row["client_id"], "account_id": row["account_id"],
                    "campaign_id": row["campaign_id"], "subject": row["subject"], "detector": row["detector"],
                    "day": day.isoformat(), "recommendation": row["recommendation"],
                })
        upsert(s, Finding.__table__, rows, FINDING_KEY,
               update=["campaign_id", "severity", "evidence", "recommendation"], touch=["updated_at"])
        still = {tuple(r[k] for k in PROBLEM) for r in rows}
        # Yesterday's row of a problem that still holds is closed too: today's row carries it on.
        closing = [r.id for r in earlier]
        for part in (closing[i : i + 1000] for i in range(0, len(closing), 1000)):
            s.execute(update(Finding).where(Finding.id.in_(part))
                      .values(status=FindingStatus.RESOLVED, resolved_at=now))
        gone = [r for r in earlier if (r.client_id, r.account_id, r.subject, r.detector) not in still]
        result.resolved = len(gone)
    return result


def open_critical_payloads(engine: Engine, day: dt.date) -> list[dict[str, Any]]:
    """The day's open critical findings shaped as the sweep's `cadence.finding.critical` event payload."""
    with Session(engine) as s:
        rows = s.scalars(select(Finding).where(Finding.day == day, Finding.severity == Severity.CRITICAL,
                                               Finding.status != FindingStatus.RESOLVED)
                         .order_by(Finding.id)).all()
    return [{"client_id": f.client_id, "account_id": f.account_id, "campaign_id": f.campaign_id,
             "subject": f.subject, "detector": f.detector, "day": f.day.isoformat(),
             "recommendation": f.recommendation} for f in rows]


def critical_without_incident(engine: Engine, client_ids: Sequence[int], day: dt.date) -> list[dict[str, Any]]:
    """The day's open critical findings whose problem has no incident that is still open, as event payloads.

    What the sweep raises `cadence.finding.critical` for: a problem new and critical, a warning turned critical,
    and also a critical problem whose event was lost (the sweep killed between writing its findings and raising
    the events, then run again). crisis-escalation opens one incident per finding, so an event raised twice
    opens one incident.
    """
    other = aliased(Finding)
    has_incident = exists().where(
        Incident.finding_id == other.id, Incident.stage != IncidentStage.CLOSED,
        other.client_id == Finding.client_id, other.account_id == Finding.account_id,
        other.subject == Finding.subject, other.detector == Finding.detector)
    with Session(engine) as s:
        rows = s.scalars(select(Finding).where(
            Finding.client_id.in_(list(client_ids)), Finding.day == day, Finding.severity == Severity.CRITICAL,
            Finding.status != FindingStatus.RESOLVED, ~has_incident).order_by(Finding.id)).all()
    return [{"client_id": f.client_id, "account_id": f.account_id, "campaign_id": f.campaign_id,
             "subject": f.subject, "detector": f.detector, "day": f.day.isoformat(),
             "recommendation": f.recommendation} for f in rows]
