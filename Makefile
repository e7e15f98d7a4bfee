# Two commands: `make demo` runs the main job on the embedded defaults, `make test` runs the tests.
# Each sets up .venv from the pinned lock on first use (and again whenever the lock changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres setup lock clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/cadence demo

# The suite runs on SQLite, then again on PostgreSQL when CADENCE_TEST_POSTGRES_URL is set
# (.ci/run sets it; with CI=true an unreachable PostgreSQL fails the run instead of skipping).
test: $(STAMP)
	$(BIN)/python -m pytest
	@if [ -n "$$CADENCE_TEST_POSTGRES_URL" ]; then \
		echo "--- again on PostgreSQL ($$CADENCE_TEST_POSTGRES_URL)"; \
		CADENCE_TEST_DATABASE=postgres $(BIN)/python -m pytest -p no:cacheprovider; \
	else \
		echo "--- PostgreSQL leg skipped: set CADENCE_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run it"; \
	fi

lock:
	uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .cadence .pytest_cache
