"""No SQL is built by formatting values into a string: product code binds parameters or uses SQLAlchemy expressions."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("tasks", "cadence", "models", "flows")
# Calls that take SQL text as their first argument.
SINKS = {"text", "literal_column", "exec_driver_sql", "execute", "executemany", "executescript", "copy", "read_sql",
         "read_sql_query"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|TRUNCATE|COPY\s+\w+|DROP\s+\w+"
                       r"|CREATE\s+\w+|ALTER\s+TABLE|PRAGMA|WHERE|VALUES)\b")

# (file, function) -> why what is formatted in there is not data. A new entry needs the same argument.
ALLOWED = {
    ("cadence/demo/write.py", "clear_agency"): "table names from Base.metadata: identifiers, not data",
    ("cadence/demo/write.py", "insert_metric_rows"): "table and column names from the model; every value bound with ?",
    ("cadence/demo/write.py", "_copy_csv"): "table and column names from the model; COPY streams the values",
    ("cadence/demo/write.py", "_copy_dicts"): "table and column names from the model; COPY streams the values",
    ("tasks/metrics.py", "_read_sqlite_window"): "only _range_filter's placeholders are formatted; the campaign-id"
    " ranges and the dates are bound",
    ("tasks/metrics.py", "_read_postgres_window"): "_range_filter's placeholders and the metric column names"
    " (METRIC_COLUMNS, a constant) are formatted; the campaign-id ranges and the dates are bound",
    ("tasks/connectors/google_ads.py", "daily_metrics"): "GAQL sent to Google, not SQL to our database; the only"
    " values are date.isoformat() of dt.date objects (GAQL has no bind parameters)",
}


@dataclass(frozen=True)
class Finding:
    path: str
    function: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {self.why}"


def _template(node: ast.AST, constants: dict[str, str]) -> str | None:
    """The literal text of a string being formatted (an f-string's literal parts, or a named module constant)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _interpolation(node: ast.AST, constants: dict[str, str]) -> tuple[str, str] | None:
    """(kind, template) when `node` formats values into a string: f-string, %, .format() or + concatenation."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
        return "f-string", _template(node, constants) or ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template = _template(node.left, constants)
        if template is not None:
            return "% formatting", template
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        template = _template(node.func.value, constants)
        if template is not None or isinstance(node.func.value, ast.JoinedStr):
            return ".format()", template or ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        sides = [_template(side, constants) for side in (node.left, node.right)]
        literal = [isinstance(side, ast.Constant) for side in (node.left, node.right)]
        if any(s is not None for s in sides) and not all(literal):
            return "+ concatenation", "".join(s or "" for s in sides)
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, constants: dict[str, str]) -> None:
        self.path, self.constants = path, constants
        self.stack: list[str] = []
        self.findings: list[Finding] = []

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def _add(self, node: ast.AST, why: str) -> None:
        function = next((name for name in reversed(self.stack) if not name[:1].isupper()), "<module>")
        self.findings.append(Finding(self.path, function, node.lineno, why))

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in SINKS and node.args:
            found = _interpolation(node.args[0], self.constants)
            if found:
                self._add(node, f"{found[0]} passed to {name}()")
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._check_sql_text(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self._check_sql_text(node)
        self.generic_visit(node)

    def _check_sql_text(self, node: ast.AST) -> None:
        found = _interpolation(node, self.constants)
        if found and SQL_WORDS.search(found[1]):
            self._add(node, f"SQL text built by {found[0]}: {found[1].strip()[:60]!r}")

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            self._check_sql_text(node)
        super().generic_visit(node)


def scan_source(source: str, path: str = "<snippet>") -> list[Finding]:
    """Every place in `source` where SQL is built by formatting, or a SQL call gets a formatted string."""
    tree = ast.parse(source)
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                 for t in n.targets if isinstance(t, ast.Name)}
    scanner = _Scanner(path, constants)
    scanner.visit(tree)
    # One place can match both rules (a formatted SQL string handed to execute): report it once.
    return sorted({(f.path, f.line, f.function): f for f in scanner.findings}.values(), key=lambda f: f.line)


def product_findings() -> list[Finding]:
    files = sorted(p for top in PRODUCT for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts)
    assert len(files) > 20, "the scan must see the product code"
    return [f for p in files for f in scan_source(p.read_text(encoding="utf-8"), p.relative_to(REPO).as_posix())]


def test_no_product_sql_is_built_by_formatting_values_in():
    unexplained = [str(f) for f in product_findings() if (f.path, f.function) not in ALLOWED]
    assert not unexplained, ("SQL built by string formatting; bind the values (text(':name') / select()), or, for "
                             "identifiers only, add the function to ALLOWED with why:\n" + "\n".join(unexplained))


def test_every_allowed_place_still_exists():
    """A stale entry would silently allow whatever is written there next: remove it when the code moves."""
    seen = {(f.path, f.function) for f in product_findings()}
    assert not [place for place in ALLOWED if place not in seen]


@pytest.mark.parametrize("snippet", [
    'conn.execute(text(f"SELECT * FROM client WHERE name = \'{name}\'"))',
    'conn.exec_driver_sql("DELETE FROM client WHERE slug = \'%s\'" % slug)',
    'session.execute(text("SELECT * FROM client WHERE slug = \'{}\'".format(slug)))',
    'cur.execute("SELECT * FROM client WHERE slug = \'" + slug + "\'")',
    'QUERY = "SELECT * FROM client WHERE id IN ({ids})"\ndef f(ids):\n    return QUERY.format(ids=ids)',
    'def f(name):\n    sql = f"UPDATE client SET name = \'{name}\'"\n    return sql',
    'pd.read_sql(f"select * from client where slug = \'{slug}\'", conn)',
    'op.execute("drop table %s" % name)',
])
def test_the_scan_catches_values_formatted_into_sql(snippet):
    assert scan_source(snippet), snippet


@pytest.mark.parametrize("snippet", [
    'conn.execute(text("SELECT * FROM client WHERE name = :name"), {"name": name})',
    'conn.execute(select(Client).where(Client.slug == slug))',
    'cursor.execute("PRAGMA foreign_keys=ON")',
    'raise CadenceError(f"no client {slug!r}: see `cadence client list`")',
    'logger.info("%s chunk %d: %d clients", kind, index, n)',
    'frame = frame.copy()',
    'action.format(campaign=name)',
])
def test_the_scan_leaves_bound_parameters_and_plain_strings_alone(snippet):
    assert scan_source(snippet) == []
