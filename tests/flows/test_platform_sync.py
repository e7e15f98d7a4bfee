"""The platform-sync flow against the fake Yandex Direct: every account pulled, failures in the artifact."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.demo.fakes.yandex_server import FakeYandexDirect
from cadence.demo.leaks import find_leaks
from flows.platform_sync import platform_sync
from models import DailyMetric, OutboundMessage
from tasks.sync import rate_limit_name
from tests.tasks.test_sync import AS_OF, TOKEN, _client, _setup


def test_the_flow_pulls_every_account_in_chunks_and_lists_the_failures(engine, prefect_harness, monkeypatch):
    with FakeYandexDirect(TOKEN, offline_polls=1, retry_in=0) as fake:
        for login in ("shop-a", "shop-b", "shop-c"):
            fake.add_client(_client(login))
        _setup(engine, fake, logins=("shop-a", "shop-b"), label="good", monkeypatch=monkeypatch)
        _setup(engine, fake, logins=("shop-c",), label="old", token="y0_revoked", monkeypatch=monkeypatch)
        result = platform_sync(as_of=AS_OF, chunk_accounts=2)
        assert (result["accounts"], result["synced"], result["rows_lost"]) == (3, 2, 0)
        assert result["failed"] == {"shop-c": "auth_expired"}
        assert len(fake.report_requests("shop-a")) == 3  # 201, 202, 200: polled, not waited on
        again = platform_sync(as_of=AS_OF, chunk_accounts=2)
        assert again["synced"] == 2
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DailyMetric)) == 12
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 2
    with get_client(sync_client=True) as api:
        limit = api.read_global_concurrency_limit_by_name(rate_limit_name("yandex_direct"))
        assert limit.slot_decay_per_second > 0
        artifact = api.read_latest_artifacts()
        # This test's runs and their logs only: the session's server holds every earlier test's too.
        runs = api.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["platform-sync"])))
        logs = api.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[r.id for r in runs])))
    summary = next(a for a in artifact if a.key == "platform-sync-summary")
    assert "shop-c" in summary.data and "auth_expired" in summary.data
    assert any("shop-c not synced (auth_expired)" in log.message for log in logs)
    texts = [(f"artifact {a.key}", str(a.data)) for a in artifact] + [("log", log.message) for log in logs]
    texts += [(f"parameters {r.name}", str(r.parameters)) for r in runs]
    assert find_leaks(texts, secrets=[TOKEN, "y0_revoked"]) == []
