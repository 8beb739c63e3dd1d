"""Real browsers: Debian's chromium driven by Playwright, against a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), (
        "Debian's chromium is needed: apt-get install chromium (scripts/setup.sh --dev)"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield bypassing_csp(b)
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
