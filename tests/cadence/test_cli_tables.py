"""Tables the docs send people to for slugs and ids are never cut when piped, whatever the terminal width."""

from __future__ import annotations

from cli_helpers import runner

from cadence.cli import app

SLUG = "northwind-traders-international-holdings-emea-performance-and-brand-2027"


def test_piped_client_and_account_lists_keep_every_slug_whole(engine):
    result = runner.invoke(app, ["client", "add", "--slug", SLUG, "--name", "Northwind Traders International",
                                 "--market", "GB", "--time-zone", "Europe/London", "--currency", "GBP",
                                 "--am-email", "am@agency.example"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["account", "add", "--client", SLUG, "--platform", "google_ads", "--external-id",
                                 "123-456-7890-and-a-long-label", "--name", "Northwind UK search",
                                 "--currency", "GBP", "--time-zone", "Europe/London"])
    assert result.exit_code == 0, result.output
    for command in (["client", "list"], ["account", "list"]):
        piped = runner.invoke(app, command, env={"COLUMNS": "80"})
        assert piped.exit_code == 0, piped.output
        assert SLUG in piped.output, piped.output
    assert "123-456-7890-and-a-long-label" in piped.output
