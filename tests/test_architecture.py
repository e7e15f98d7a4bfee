"""The direction of imports, read from the source with ast (nothing is imported):

- flows/, tasks/ and models/ never import cadence/: the CLI and the report server sit on top of them and get the
  settings and resources from tasks/settings.py and tasks/resources.py, never the other way round;
- the pure cores import neither Prefect nor the database (SQLAlchemy, Alembic): not themselves, anywhere in the
  module, and not through the project modules that loading them loads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "tasks", "models")
EDGE_LIBRARIES = frozenset({"prefect", "prefect_dask", "sqlalchemy", "alembic"})

# Logic that needs neither an orchestrator nor a database: tested with plain values, importable by the CLI at no
# cost. A module that becomes pure joins the list; one that must not stay pure is moved out of it on purpose.
PURE = (
    "tasks.arrow_reader",
    "tasks.business_hours",
    "tasks.connectors.base",
    "tasks.detect",
    "tasks.detect.account",
    "tasks.detect.anomaly",
    "tasks.detect.causes",
    "tasks.detect.conversions",
    "tasks.detect.delivery",
    "tasks.detect.evidence",
    "tasks.detect.gaps",
    "tasks.detect.materiality",
    "tasks.detect.run",
    "tasks.detect.window",
    "tasks.errors",
    "tasks.forms",
    "tasks.i18n",
    "tasks.ingest.cells",
    "tasks.ingest.map",
    "tasks.ingest.read",
    "tasks.ingest.validate",
    "tasks.internal_mail",
    "tasks.mappings",
    "tasks.market_calendar",
    "tasks.render",
    "tasks.reports.charts",
    "tasks.reports.output",
    "tasks.reports.periods",
    "tasks.reports.summaries",
    "tasks.rules",
    "tasks.settings",
    "tasks.sla",
    "tasks.transports",
)


def _module_paths() -> dict[str, Path]:
    """Every module of the packages by dotted name; a package by its own name (its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _module_paths()


def _import_nodes(tree: ast.AST, at_import: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a module; with `at_import`, only those that run when it is loaded (not the ones in
    function bodies, which run when the function is called)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if not (at_import and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))):
            yield from _import_nodes(node, at_import)


def imported(module: str, at_import: bool = False) -> set[str]:
    """The dotted names `module` imports; `from a.b import c` gives a.b, and a.b.c when c is a module."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8")), at_import):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names.add(base)
        names |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    return names


def loaded(name: str) -> list[str]:
    """The project modules importing `name` loads: the module and each package above it."""
    parts = name.split(".")
    return [m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if m in MODULES]


def edge_import_chain(module: str) -> list[str] | None:
    """The shortest chain of loads from `module` to Prefect or the database, or None when there is none."""
    direct = {name.split(".")[0] for name in imported(module)} & EDGE_LIBRARIES
    if direct:
        return [module, sorted(direct)[0]]
    came_from: dict[str, str | None] = {m: None for m in loaded(module)}
    queue = list(came_from)
    while queue:
        current = queue.pop(0)
        for name in sorted(imported(current, at_import=True)):
            if name.split(".")[0] in EDGE_LIBRARIES:
                chain = [name, current]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])
                return chain[::-1]
            for step in loaded(name):
                if step not in came_from:
                    came_from[step] = current
                    queue.append(step)
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_nothing_below_the_cli_imports_cadence(module: str) -> None:
    reaching_up = sorted(name for name in imported(module) if name.split(".")[0] == "cadence")
    assert not reaching_up, (f"{module} imports {reaching_up}: settings and resources come from tasks.settings and "
                             "tasks.resources; cadence/ (the CLI, the report server) sits on top and is "
                             "imported by none")


@pytest.mark.parametrize("module", PURE)
def test_a_pure_core_imports_neither_prefect_nor_the_database(module: str) -> None:
    assert module in MODULES, f"{module} is listed as pure but does not exist: update PURE after a move"
    chain = edge_import_chain(module)
    assert chain is None, f"{module} is listed as pure but reaches {chain[-1]}: {' -> '.join(chain)}"


def test_the_walk_sees_an_edge_through_another_module() -> None:
    """The check itself: an edge module is found impure, directly and through the modules it loads."""
    assert edge_import_chain("tasks.reports.edges") == ["tasks.reports.edges", "prefect"]
    chain = edge_import_chain("tasks.clock")
    assert chain is not None and chain[0] == "tasks.clock" and chain[-1] == "sqlalchemy"


def _strictly_typed(module: str) -> bool:
    """Whether `make lint`'s mypy (strict) checks the module: it, or a package holding it, is in pyproject's files."""
    import tomllib

    files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["files"]
    path = MODULES[module].relative_to(ROOT)
    return any(path == Path(f) or Path(f) in path.parents for f in files)


@pytest.mark.parametrize("module", PURE)
def test_a_pure_core_is_type_checked_strictly(module: str) -> None:
    assert _strictly_typed(module), f"{module} is pure: add it to [tool.mypy] files in pyproject.toml"


def test_the_strict_set_check_sees_a_module_left_out() -> None:
    assert _strictly_typed("tasks.detect.anomaly") and _strictly_typed("models.agency")
    assert not _strictly_typed("tasks.reports.edges")
