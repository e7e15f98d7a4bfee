"""File names built from client data (slugs, periods, kinds, languages) never leave their folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.messaging.outbox import attachment_name
from tasks.reports.output import report_paths, safe_name
from tasks.transports import Envelope, FileOutboxTransport

HOSTILE = [
    "../../etc/passwd", "..\\..\\windows\\system32", "/etc/passwd", "C:\\x", "C:/x", "\\\\server\\share",
    "a\x00b", "\x00", ".", "..", "...", ". .", "-", "", " ", "x" * 1000, "é" * 300, "客户/../客户",
    "Ünïcode 客户", "\u202e", "foo/./bar", "~root", "$HOME", "con", "nul.txt", "a\nb", "\u2215etc\u2215passwd",
]
# Any text (NUL and lone surrogates included), and pieces of paths glued together, which random text rarely is.
PIECES = ["..", ".", "/", "\\", "\x00", "C:", "~", "-", "a", "é", "客", " ", "\u2215", "x" * 100]
ANY_TEXT = (st.text(st.characters(exclude_categories=()), max_size=300)
            | st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
DATA = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_inside(path: Path, root: Path) -> None:
    name = path.name
    assert name and name not in {".", ".."} and "\x00" not in name and "/" not in name and "\\" not in name
    assert len(name.encode("utf-8", "surrogatepass")) <= 255, f"{len(name)}-character file name"
    assert path.resolve().is_relative_to(root.resolve()), f"{path} is outside {root}"
    parts = path.resolve().relative_to(root.resolve()).parts
    assert all(len(part.encode("utf-8", "surrogatepass")) <= 255 for part in parts)


def assert_report_paths(root: Path, kind: str, period: str, slug: str, language: str, fallback: str) -> None:
    html, pdf = report_paths(root, kind, period, slug, language, fallback)
    for path in (html, pdf):
        assert_inside(path, root)
    assert html.resolve().parent.parent.parent == root.resolve(), "a report lands in root/kind/period/"
    assert html.name.endswith(".html") and pdf.name.endswith(".pdf") and html.parent == pdf.parent
    assert html.name[: -len(".html")] == pdf.name[: -len(".pdf")]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_part_of_a_report_path_stays_under_the_root(tmp_path, value):
    root = tmp_path / "reports"
    assert_report_paths(root, value, "2026-10", "acme", "en", "client-1")
    assert_report_paths(root, "recap", value, "acme", "en", "client-1")
    assert_report_paths(root, "recap", "2026-10", value, "en", "client-1")
    assert_report_paths(root, "recap", "2026-10", "acme", value, "client-1")
    assert_report_paths(root, "recap", "2026-10", value, value, value)
    assert_report_paths(root, value, value, value, value, value)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_report_file_can_be_written_where_report_paths_says(tmp_path, value):
    """The OS agrees: the folder is creatable and the file lands under the root (length limits included)."""
    root = tmp_path / "reports"
    html, _pdf = report_paths(root, "recap", value, value, "en", value)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text("report")
    assert [p.resolve() for p in root.rglob("*") if p.is_file()] == [html.resolve()]


def test_a_slug_that_cleans_to_nothing_cannot_smuggle_a_path_in_through_the_fallback(tmp_path):
    assert_report_paths(tmp_path / "reports", "recap", "2026-10", "..", "en", "../../../outside")


def test_safe_name_never_returns_an_unsafe_fallback():
    assert safe_name("", "client-7") == "client-7"
    assert safe_name("..", "../../etc/passwd") == "etc-passwd"
    assert safe_name("/", "..") == "unnamed"


@given(kind=ANY_TEXT, period=ANY_TEXT, slug=ANY_TEXT, language=ANY_TEXT, fallback=ANY_TEXT)
@DATA
def test_generated_report_paths_stay_under_the_root(tmp_path, kind, period, slug, language, fallback):
    assert_report_paths(tmp_path / "reports", kind, period, slug, language, fallback)


@pytest.mark.parametrize("value", HOSTILE)
def test_attachment_names_are_plain_file_names(value):
    for name in (attachment_name(value, "2026-10"), attachment_name("acme", value), attachment_name(value, value),
                 attachment_name(None, value)):
        assert_attachment_name(name)


@given(slug=st.none() | ANY_TEXT, period=ANY_TEXT)
@DATA
def test_generated_attachment_names_are_plain_file_names(slug, period):
    assert_attachment_name(attachment_name(slug, period))


def assert_attachment_name(name: str) -> None:
    assert name.endswith(".pdf") and len(name) > len(".pdf")
    assert not name.startswith("."), "a leading dot hides the file on the recipient's machine"
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert len(name.encode()) <= 255
    assert name.isascii() and name.isprintable()


def envelope(message_id: int, kind: str, key: str) -> Envelope:
    return Envelope(message_id=message_id, key=key, recipient="ann@client.example", subject="s", html="<p>h</p>",
                    text="t", kind=kind)


@pytest.mark.parametrize("value", HOSTILE)
def test_eml_files_stay_in_the_file_outbox(tmp_path, value):
    outbox = FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example")
    for message_id in (1, 0, -1, 10**12):
        path = outbox.path_for(envelope(message_id, value, value))
        assert_inside(path, tmp_path / "outbox")
        assert path.parent == tmp_path / "outbox" and path.suffix == ".eml"


# Keys are stored idempotency keys, valid Unicode; a lone surrogate could not be stored, nor written in a header.
@given(message_id=st.integers(min_value=-(2**63), max_value=2**63 - 1), kind=ANY_TEXT,
       key=st.text(max_size=300) | st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@DATA
def test_generated_eml_names_stay_in_the_file_outbox(tmp_path, message_id, kind, key):
    path = FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example").path_for(envelope(message_id, kind, key))
    assert_inside(path, tmp_path / "outbox")
    assert path.parent == tmp_path / "outbox" and path.suffix == ".eml"


def test_a_hostile_kind_is_written_inside_the_outbox(tmp_path):
    outbox = FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example")
    result = outbox.send(envelope(7, "../../escaped", "flow:../acme:2026-10:ann@client.example:recap"))
    assert result.outcome.value == "accepted", result.error
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.parent for p in written] == [tmp_path / "outbox"] and written[0].name == result.provider_message_id
