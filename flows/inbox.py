"""Every few minutes: exports dropped into the inbox folders imported, each moved to done/ or failed/ with its
report."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from tasks.forms import Names, form
from tasks.inbox import import_inbox_file, inbox_totals, list_inbox, publish_inbox_artifact
from tasks.settings import get_settings
from tasks.today import refresh_today


@flow(name="inbox", log_prints=True)
def inbox(roots: Annotated[Names, form(
        "Folders or URLs", "where to look for exports; empty: $CADENCE_HOME/inbox and CADENCE_INBOX_URLS")] = ()
          ) -> dict:
    """Import every waiting file (default roots: the settings' inbox folder and URLs), one at a time."""
    files = list_inbox(list(roots or []) or get_settings().inbox_roots)
    results = [import_inbox_file(item) for item in files]
    publish_inbox_artifact(results)
    if results:  # quarantined rows are failures the today view lists; an empty pass stays cheap
        refresh_today()
    return inbox_totals(results)
