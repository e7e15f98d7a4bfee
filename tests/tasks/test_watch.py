"""What a watch pass leaves to show, from what its steps returned; no database, no Prefect run."""

from __future__ import annotations

from tasks.watch import Due, pass_done

QUIET = Due(incidents=False, tiers=False, outbox=False, approvals=False)
NO_TIERS = {"recomputed": 0, "changes": []}


def clocks(queued=(), incidents=()) -> dict:
    return {"found": {"requests": 0}, "queued": list(queued), "incidents": list(incidents)}


def test_a_quiet_pass_shows_nothing():
    done = pass_done(clocks(), [], NO_TIERS, {}, QUIET)
    assert (done.incidents, done.busy, done.approvals) == ([], False, False)


def test_the_incidents_opened_or_climbed_each_get_their_timeline_once():
    done = pass_done(clocks(incidents=[{"incident_id": 7}]), [{"incident_id": 3}, {"incident_id": 7}], NO_TIERS, {},
                     QUIET)
    assert done.incidents == [3, 7] and done.busy


def test_the_awaiting_approval_list_changes_with_a_reminder_or_a_decision():
    reminder = {"kind": "approval-reminder", "client": "acme", "to": "am@agency.example", "subject": "waiting"}
    assert pass_done(clocks(queued=[reminder]), [], NO_TIERS, {}, QUIET).approvals
    decided = Due(incidents=False, tiers=False, outbox=False, approvals=True)
    done = pass_done(clocks(), [], NO_TIERS, {}, decided)
    assert done.approvals and not done.busy
