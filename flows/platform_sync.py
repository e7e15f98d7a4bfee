"""Every connected ad account's yesterday (its own time zone) and restated days, pulled before the sweep."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.runners import sweep_task_runner
from tasks.sync import plan_sync_chunks, publish_summary, sync_chunk
from tasks.today import refresh_today

DEFAULT_CHUNK_ACCOUNTS = 100


def _run_name() -> str:
    return f"platform-sync-{flow_run.parameters.get('as_of') or agency_today()}"


@flow(name="platform-sync", flow_run_name=_run_name, task_runner=sweep_task_runner(), log_prints=True)
def platform_sync(
    as_of: dt.date | None = None,
    accounts: list[str] | None = None,
    platforms: list[str] | None = None,
    days: int | None = None,
    chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS,
) -> dict:
    """Pull every connected account (or the named external ids / platforms) for the days before `as_of`.

    Without `as_of` each account's "yesterday" is in its own time zone; `days` replaces the restatement window.
    """
    chunks = plan_sync_chunks(accounts, platforms, chunk_accounts)
    futures = [sync_chunk.submit(ids, as_of, days, index) for index, ids in enumerate(chunks)]
    outcomes = [o for future in futures for o in future.result()]
    label = str(as_of or agency_today())
    publish_summary(label, outcomes)
    refresh_today(as_of)  # a login to reconnect or rows quarantined are failures the today view lists
    failed = [o for o in outcomes if o["status"] != "ok"]
    return {"as_of": label, "accounts": len(outcomes), "synced": len(outcomes) - len(failed),
            "failed": {o["external_id"]: o["status"] for o in failed},
            "rows": sum(o["rows"] for o in outcomes), "rows_lost": sum(o["rows_lost"] for o in outcomes)}
