"""Every connected ad account's yesterday (its own time zone) and restated days, pulled before the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.forms import TODAY, AgencyDay, Names, day_or_today, form
from tasks.runners import sweep_task_runner
from tasks.sync import plan_sync_chunks, publish_summary, sync_chunk, sync_totals
from tasks.today import refresh_today

DEFAULT_CHUNK_ACCOUNTS = 100


def _run_name() -> str:
    """The day pulled (the agency's "yesterday"), as the sweep that reads it names its run."""
    return f"sync-{day_or_today(flow_run.parameters.get('as_of'), agency_today()) - dt.timedelta(days=1)}"


@flow(name="platform-sync", flow_run_name=_run_name, task_runner=sweep_task_runner(), log_prints=True)
def platform_sync(
    as_of: Annotated[AgencyDay, form(
        "Pull up to (date)", "YYYY-MM-DD: pull the days before it; today: each account's own yesterday "
        "in its own time zone")] = TODAY,
    accounts: Annotated[Names, form(
        "Accounts", "external account ids to pull (`cadence account list`); empty: every connected account")] = (),
    platforms: Annotated[Names, form(
        "Platforms", "only these platforms (google_ads, meta, yandex_direct, vk, ocean_engine); empty: all")] = (),
    days: Annotated[int, form(
        "Days", "how many days to pull; 0: the platform's own restatement window (Yandex Direct 3, 10 on Sundays)",
        ge=0)] = 0,
    chunk_accounts: Annotated[int, form(
        "Accounts per chunk", "how many accounts one task pulls; the default suits one machine", ge=1)
    ] = DEFAULT_CHUNK_ACCOUNTS,
) -> dict:
    """Pull every connected account (or the named external ids / platforms) for the days before `as_of`.

    Without `as_of` each account's "yesterday" is in its own time zone; `days` replaces the restatement window.
    """
    as_of = None if as_of in (None, TODAY) else as_of
    chunks = plan_sync_chunks(list(accounts or []) or None, list(platforms or []) or None, chunk_accounts)
    futures = [sync_chunk.submit(ids, as_of, days or None, index) for index, ids in enumerate(chunks)]
    outcomes = [o for future in futures for o in future.result()]
    label = str(as_of or agency_today())
    publish_summary(label, outcomes)
    refresh_today(as_of)  # a login to reconnect or rows quarantined are failures the today view lists
    return sync_totals(label, outcomes)
