# Two commands: `make demo` runs the main job on the embedded defaults, `make test` runs the tests.
# Each sets up .venv from the pinned lock on first use (and again whenever the lock changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint lint-fix setup system-run system-test lock clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Debian packages: Pango and CJK/Cyrillic fonts for PDFs; Chromium too for the browser test.
system-run:
	@bash scripts/system-packages.sh run

system-test:
	@bash scripts/system-packages.sh test

demo: system-run $(STAMP)
	$(BIN)/cadence demo

# pytest-xdist's workers: the tests mostly wait (a server, a subprocess, the database), so more workers than cores
# pay; worksteal lets an idle worker take queued tests from a busy one.
WORKERS ?= 4
XDIST   := -n $(WORKERS) --dist worksteal

# One pytest run: every database test runs on SQLite, and on PostgreSQL when
# CADENCE_TEST_POSTGRES_URL is set (.ci/run sets it; with CI=true an unreachable PostgreSQL fails).
# pytest's exit code 5 (no tests collected) fails the target like any other non-zero code.
test: lint system-test $(STAMP)
	$(BIN)/python -m pytest $(XDIST)

# ruff over the tree; mypy, strict, over the files pyproject.toml lists (models/ and the pure modules).
# No `ruff format --check`: the tree is not in ruff's format, and reformatting it is not worth the churn.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# ruff's safe fixes over the tree (import order, unused imports, stale noqa); it prints what is left to mend by hand.
lint-fix: $(STAMP)
	$(BIN)/ruff check --fix --statistics .

# The fast tier while working: everything but the e2e tests (servers, subprocesses, a browser) and those marked
# slow (a demo agency, a PDF, the temporary Prefect API, a fuzz run, a subprocess).
check: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) -m "not e2e and not slow"

lock:
	uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .cadence .pytest_cache .ruff_cache .mypy_cache
