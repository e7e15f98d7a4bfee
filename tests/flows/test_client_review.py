"""The ad-hoc client review: a form-shaped parameter, a stored dossier, an artifact, sent only when asked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.client_review import ReviewRequest, client_review
from models import Client, OutboundMessage, Report, Staff
from models.enums import StaffRole
from tasks.settings import get_settings

AS_OF = dt.date(2026, 11, 25)
DEMO = {"as_of": AS_OF, "seed": 11, "clients": 8, "days": 60}


def test_review_is_stored_published_and_sent_only_to_the_manager_once(engine, demo, prefect_harness):
    with Session(engine) as s:
        manager = s.scalars(select(Staff).where(Staff.role == StaffRole.TEAM_LEAD)).first().email
    request = ReviewRequest(client="demo-control", detail="campaign", send_to=manager)
    first = client_review(request, as_of=AS_OF, dispatch=False)
    assert first["pages"] >= 1 and first["new_messages"] == 1
    assert "Client review: Demo Control" in first["markdown"]
    relative = Path(first["pdf"]).relative_to(get_settings().reports_path).as_posix()
    assert f"[PDF](http://127.0.0.1:4201/{relative})" in first["markdown"] and first["pdf"] not in first["markdown"]
    assert "## By campaign" in first["markdown"], "campaign detail shows the campaign table in the artifact too"
    again = client_review(request, as_of=AS_OF, dispatch=False)
    assert again["new_messages"] == 0 and again["report_id"] == first["report_id"]
    with Session(engine) as s:
        sent = s.scalars(select(OutboundMessage)).all()
        assert [m.recipient for m in sent] == [manager] and sent[0].report_id == first["report_id"]
        assert s.query(Report).filter(Report.kind == "review").count() == 1

    state = client_review(ReviewRequest(client="demo-control"), as_of=AS_OF, dispatch=False, return_state=True)
    assert state.result()["new_messages"] == 0 and "## By campaign" not in state.result()["markdown"]
    with Session(engine) as s:
        tier = s.scalar(select(Client).where(Client.slug == "demo-control")).effective_tier.value
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert f"tier:{tier}" in run.tags, "ops filter reviews by the client's tier in the UI"


def test_review_request_validates_like_a_form():
    with pytest.raises(ValidationError):
        ReviewRequest(client="x", first_day=dt.date(2026, 11, 2), last_day=dt.date(2026, 11, 1))
    with pytest.raises(ValidationError):
        ReviewRequest(client="x", detail="everything")
    assert "properties" in ReviewRequest.model_json_schema()


def test_a_wrong_slug_fails_at_once_with_the_nearest_slugs(engine, demo, prefect_harness):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tasks.client_check import CONTROL_SLUG

    with Session(engine) as s:
        slugs = set(s.scalars(select(Client.slug)))
    assert CONTROL_SLUG in slugs, "the form's example is a client of the demo agency"
    state = client_review(ReviewRequest(client="demo-contrl"), as_of=AS_OF, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception) as failure:
        state.result()
    assert str(failure.value).startswith("no client 'demo-contrl'; did you mean demo-control")
    assert str(failure.value).endswith("(`cadence client list` shows them all)") and "\n" not in str(failure.value)
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[
            state.state_details.flow_run_id])))
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert run.run_count == 1 and [t.name.rsplit("-", 1)[0] for t in tasks] == ["check-client-slug"]
    assert tasks[0].run_count == 1, "a slug nobody has is not retried"


def test_a_review_run_is_named_by_client_and_period(engine, demo, prefect_harness):
    state = client_review({"client": "demo-control", "first_day": "2026-11-01", "last_day": ""}, as_of=AS_OF,
                          return_state=True)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == "review-demo-control-2026-11-01..2026-11-24"
    assert state.result()["new_messages"] == 0
