"""Fixtures for the sandbox: a running sandbox in-process, and Debian's Chromium under
Playwright for the browser tests.

The browser is never downloaded: Playwright drives /usr/bin/chromium (installed by
`.ci/run` from Debian), and the browser tests skip with the reason when it or the
`playwright` package is missing, so a machine without them still runs everything else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox.clock import next_weekday_at
from bot.sandbox.server import Sandbox
from tests.conftest import fresh_sqlite_url

CHROMIUM = os.environ.get("SANDBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "sandbox"


@pytest.fixture
def sandbox(request, tmp_path) -> Iterator[Sandbox]:
    """The whole sandbox with the demo organisation, on free ports and its own database.

    Parametrize it indirectly with "socket-mode" to have the bot take the stand-in's
    requests over Socket Mode instead of HTTP.

    Its clock starts on the coming Saturday afternoon, before the worker's first tick:
    started on real time, a run on a weekday morning would see the demo's nudges land in
    the DMs the tests expect to be empty (the tests jump to Monday themselves when they
    want the scheduled messages).
    """
    yield from _running(tmp_path, socket_mode=getattr(request, "param", "http") == "socket-mode")


@pytest.fixture(scope="module")
def looked_at_sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox like `sandbox`, shared by a module's tests that only look at it: none of
    them posts, clicks or moves the clock, so each sees what a fresh one would show."""
    yield from _running(tmp_path_factory.mktemp("sandbox"), socket_mode=False)


def _running(directory: Path, *, socket_mode: bool) -> Iterator[Sandbox]:
    running = Sandbox(
        database_url=fresh_sqlite_url(directory),
        port=0,
        demo=True,
        tick_seconds=0.5,
        socket_mode=socket_mode,
    ).start(before_serving=_quiet_afternoon)
    try:
        yield running
    finally:
        running.stop()


def _quiet_afternoon(sandbox: Sandbox) -> None:
    sandbox.clock.jump(next_weekday_at(datetime.now(UTC), 5, 15))


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium under Playwright, or a skip that says what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: the playwright package is not installed (make install)")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, sandbox):
    """A fresh browser tab on the sandbox page, 1400x900 like a laptop screen."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(sandbox.url)
    try:
        yield tab
    finally:
        context.close()


def shot(page, name: str) -> Path:
    """Save a screenshot under artifacts/sandbox/ (git-ignored) and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
