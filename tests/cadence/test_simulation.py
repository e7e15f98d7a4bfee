"""The simulated month reads prefect.yaml: which deployments run, when, with which as_of, in what order at a tie."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cadence.demo import simulation as sim
from tasks.deployments import load_specs
from tasks.errors import CadenceError
from tasks.forms import takes_moment

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc


def test_the_month_runs_every_scheduled_deployment_but_those_it_stands_in_for():
    specs = load_specs()
    scheduled = {spec.name for spec in specs if spec.schedules}
    assert set(sim.scheduled()) == scheduled - sim.NOT_RUN
    assert sim.NOT_RUN <= scheduled and set(sim.ORDER) <= {spec.name for spec in specs}


def test_a_scheduled_deployment_without_a_place_in_the_order_is_refused(monkeypatch):
    monkeypatch.setattr(sim, "NOT_RUN", frozenset({"inbox"}))
    with pytest.raises(CadenceError, match="platform-sync"):
        sim.scheduled()


def test_moments_are_the_crons_in_their_zone_and_a_tie_goes_by_the_order():
    moments = sim.scheduled_moments(dt.date(2026, 7, 3), dt.date(2026, 7, 6), watch_every=dt.timedelta(hours=1))
    assert moments == sorted(moments)
    assert [(m.deployment, m.at.astimezone(SHANGHAI).strftime("%d %H:%M"), m.day.day) for m in moments
            if m.deployment != sim.WATCH] == [
        (sim.SWEEP, "03 07:30", 3), (sim.RECAP, "03 10:00", 3), (sim.SWEEP, "04 07:30", 4),
        (sim.SWEEP, "05 07:30", 5), (sim.PACK, "05 10:00", 5), (sim.SWEEP, "06 07:30", 6),
        (sim.STANDUP, "06 08:30", 6)]
    watch = [m.at for m in moments if m.deployment == sim.WATCH]
    assert len(watch) == 4 * 24 and {at.minute for at in watch} == {0}  # hourly, as asked, not every 15 minutes
    assert [m.deployment for m in moments if m.at == dt.datetime(2026, 7, 3, 2, 0, tzinfo=UTC)] == [
        sim.RECAP, sim.WATCH]


def test_a_run_gets_its_moment_or_its_day_as_its_flow_takes_it():
    takes = {name for name in sim.ORDER if takes_moment(sim.deployments()[name].load_flow().fn)}
    assert takes == {sim.CRISIS, sim.ACKNOWLEDGE, sim.WATCH}
