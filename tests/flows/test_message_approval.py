"""The message-approval form: a decision recorded and sent, bad input failing at once, the awaiting list published."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.message_approval import message_approval
from flows.service_watch import service_watch
from models import MessageReview, OutboundMessage
from models.enums import MessageStatus, ReviewAction
from review_helpers import TUESDAY_10, compose_for, gated_agency


def _latest_awaiting_artifact() -> str:
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_latest_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["awaiting-approval"])))
    return artifact.data


def test_the_form_approves_one_sends_it_and_lists_what_still_waits(engine, prefect_harness, tmp_path):
    ids = gated_agency(engine)
    first, second = compose_for(engine, ids, kind="recap"), compose_for(engine, ids, kind="client_update")
    done = message_approval({"message_id": first, "decision": "approve", "by": "am@agency.example",
                             "note": "checked the figures"}, as_of=TUESDAY_10)
    assert done == [f"message {first}: approve by am@agency.example -> queued"]
    with Session(engine) as s:
        assert s.get(OutboundMessage, first).status == MessageStatus.SENT, "approved in business hours: sent now"
        assert s.get(OutboundMessage, second).status == MessageStatus.AWAITING_APPROVAL
        review = s.scalars(select(MessageReview)).one()
        assert (review.action, review.note) == (ReviewAction.APPROVE, "checked the figures")
    listed = _latest_awaiting_artifact()
    assert f"| {second} | acme | client_update |" in listed and f"| {first} |" not in listed


@pytest.mark.parametrize(("decision", "error"), [
    ({"message_id": 999, "decision": "approve", "by": "am@agency.example"}, "no message 999"),
    ({"message_id": None, "decision": "approve", "by": "nobody@agency.example"}, "no staff member"),
    ({"message_id": None, "decision": "edit", "by": "am@agency.example", "more_message_ids": [42]},
     "an edit is for one message"),
])
def test_bad_input_fails_at_once_with_one_line_and_no_retry(engine, prefect_harness, decision, error):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    decision = {**decision, "message_id": decision["message_id"] or message_id}
    state = message_approval(decision, as_of=TUESDAY_10, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=error) as failure:
        state.result()
    assert "\n" not in str(failure.value)
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[
            state.state_details.flow_run_id])))
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    assert run.run_count == 1 and all(t.run_count <= 1 for t in tasks), "bad input is never retried"
    with Session(engine) as s:
        assert s.get(OutboundMessage, message_id).status == MessageStatus.AWAITING_APPROVAL


def test_the_watch_publishes_the_list_when_a_message_starts_waiting(engine, prefect_harness):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    with Session(engine) as s, s.begin():
        s.get(OutboundMessage, message_id).created_at = TUESDAY_10 - dt.timedelta(minutes=5)
    service_watch(as_of=TUESDAY_10, send=False)
    assert f"| {message_id} | acme | recap |" in _latest_awaiting_artifact()
