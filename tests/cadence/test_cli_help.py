"""Every command's --help: flags shown as flags, never as taking a `<bool>`."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cadence.cli import app


def commands() -> list[tuple[list[str], Any]]:
    found = []

    def walk(command: Any, path: list[str]) -> None:  # Typer 0.29 carries its own copy of click
        found.append((path, command))
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = commands()


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "cadence" for p, _ in COMMANDS])
def test_flags_read_as_flags(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output, f"cadence {' '.join(path)}: a flag shown as taking a value"
    for param in command.params:
        if param.param_type_name == "option" and param.is_flag:
            assert param.opts[0] in result.output
            assert all(o in result.output for o in param.secondary_opts), "--no-… shown too"
