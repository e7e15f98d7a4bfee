"""Run the `cadence` command in-process: `cli` expects success, `fails` expects a refusal."""

from __future__ import annotations

from typer.testing import CliRunner

from cadence.cli import app

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code != 0
    return str(result.exception) + result.output
