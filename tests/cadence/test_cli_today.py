"""`cadence today`: the today view from the shell, as tables or JSON, and a wrong slug with the nearest ones."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from cli_helpers import cli, fails
from sqlalchemy.orm import Session

from messaging_helpers import client_with_contact
from models import Incident, OutboundMessage
from models.base import utcnow
from models.enums import Audience, Channel, IncidentSource, Language, MessageStatus
from tasks.today import EMPTY


def _agency(engine) -> dict[str, int]:
    client_id, contact_id = client_with_contact(engine, channel=Channel.WECHAT, client_name="Acme Trading")
    now = utcnow()
    with Session(engine) as s, s.begin():
        incident = Incident(dedupe_key="manual:cli", client_id=client_id, source=IncidentSource.MANUAL,
                            opened_at=now - dt.timedelta(minutes=10), cause="conversion tag lost",
                            golden_deadline_at=now + dt.timedelta(hours=4), owner_id=1)
        s.add(incident)
        s.add(OutboundMessage(idempotency_key="cli:1", flow="standup-summary", kind="client_update", period="p",
                              audience=Audience.CLIENT, client_id=client_id, contact_id=contact_id,
                              recipient="li@client.example", language=Language.ZH, subject="本周广告效果",
                              body_html="<p>x</p>", body_text="李先生，您好！本周CPA在目标区间之内。",
                              status=MessageStatus.MANUAL, created_at=now - dt.timedelta(minutes=5)))
        s.flush()
        return {"client": client_id, "incident": incident.id}


def test_today_prints_each_section_with_times_in_the_owners_zone_and_utc(engine):
    ids = _agency(engine)
    out = cli("today")
    assert out.startswith("Today for the agency: ") and "Asia/Shanghai" in out.splitlines()[0]
    assert "conversion tag lost" in out and "0 owner AM (Anna)" in out
    assert " UTC" in out.split("Open incidents")[1].split("Client requests")[0]
    assert "本周CPA在目标区间之内" in out, "what to say by hand"
    for empty in ("critical", "requests", "sent", "held", "awaiting", "failures"):
        assert EMPTY[empty] in out, empty
    data = json.loads(cli("today", "--client", "acme", "--json"))
    assert data["client"] == "acme" and [i["incident_id"] for i in data["incidents"]] == [ids["incident"]]
    assert data["incidents"][0]["golden_deadline_at"].endswith("+00:00")
    assert [m["to"] for m in data["by_hand"]] == ["Li Wei"] and data["critical"] == []


def test_a_client_with_nothing_says_so_in_every_section(engine):
    client_with_contact(engine)
    out = cli("today", "--client", "acme")
    assert out.startswith("Today for Acme (acme): ")
    for empty in EMPTY.values():
        assert empty in out


def test_a_wrong_slug_is_one_line_with_the_nearest_slugs(engine):
    client_with_contact(engine)
    message = fails("today", "--client", "acmee")
    assert message.startswith("no client 'acmee'; did you mean acme? (`cadence client list` shows them all)")
    assert "\n" not in message.strip()
    assert "did you mean" not in fails("today", "--client", "zzz-unknown")


@pytest.mark.slow  # a subprocess
def test_the_command_exits_2_with_one_error_line_and_no_traceback(engine):
    import os
    import subprocess

    client_with_contact(engine)
    run = subprocess.run([sys.executable, "-c", "from cadence.cli import main; main()", "today", "--client",
                          "acmee"], capture_output=True, text=True, timeout=120, env=os.environ.copy(),
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == ["error: no client 'acmee'; did you mean acme? (`cadence client "
                                               "list` shows them all)"]
