"""The end-to-end tests' shared fixture: one headless browser per test module, for the tests that use the Prefect UI."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright; never a downloaded browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("browser test not run: Playwright for Python is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        missing(f"browser test not run: {CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
