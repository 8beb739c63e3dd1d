"""Real browsers: Debian's chromium driven by Playwright, against a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, sync_playwright

from tests.support import running_server

CHROMIUM = "/usr/bin/chromium"
#: Every test browser's flags: no sandbox (root), no calls home, WebGL in software, sound without a gesture.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def server(data_dir: Path) -> Iterator[str]:
    """`avatar-care serve` on a free port with its own data directory; yields its base URL."""
    with running_server("serve", data_dir) as (base, _):
        yield base


def bypassing_csp(browser: Browser) -> Browser:
    """The browser's new contexts and pages bypass the pages' Content-Security-Policy unless a test
    says otherwise (``bypass_csp=False``): Playwright's ``wait_for_function`` evaluates its string
    in the page, which the policy rightly forbids. tests/browser/test_content_security_policy.py
    runs the pages under the policy, and polls with ``evaluate`` instead."""
    new_context, new_page = browser.new_context, browser.new_page

    def context(**kwargs: Any) -> BrowserContext:
        return new_context(**({"bypass_csp": True} | kwargs))

    def page(**kwargs: Any) -> Page:
        return new_page(**({"bypass_csp": True} | kwargs))

    browser.new_context = context  # type: ignore[method-assign]
    browser.new_page = page  # type: ignore[method-assign]
    return browser


def launch_chromium(browser_type: BrowserType, *args: str) -> Browser:
    """Debian's chromium with every test browser's flags and ``args``; its pages bypass the CSP
    (see :func:`bypassing_csp`)."""
    assert Path(CHROMIUM).exists(), (
        "Debian's chromium is needed: apt-get install chromium (scripts/setup.sh --dev)"
    )
    return bypassing_csp(browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args]))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per module, not per session: Playwright's synchronous API keeps an event loop
    marked running on this thread while it is open, and the asyncio tests of later modules
    (pytest-asyncio, ``asyncio.run``) refuse to start beside it."""
    with sync_playwright() as p:
        b = launch_chromium(p.chromium)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
