"""Every page runs under the server's Content-Security-Policy with no violation reported: the
customer's live room (avatar, WebRTC, voice), the operator's console with MediaPipe in edge mode
(WebAssembly), the customer, operator and admin pages, and the avatar preview."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response
from playwright.sync_api import Error as PlaywrightError

from tests.browser.live_scenario import LOAD_TIMEOUT_MS, demo_server, launch_media_browser

pytestmark = pytest.mark.browser
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.fixture(scope="module")
def media_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = launch_media_browser(browser.browser_type, tmp_path_factory.mktemp("camera"))
    yield b
    b.close()


class Watched:
    """A page whose CSP violations (the DOM event, and Chromium's console reports, workers' too) are kept."""

    def __init__(self, context: BrowserContext) -> None:
        context.add_init_script(RECORD_VIOLATIONS)
        context.set_default_timeout(LOAD_TIMEOUT_MS)
        self.page: Page = context.new_page()
        self.reports: list[str] = []
        self.policies: list[str] = []
        self.page.on("console", self._console)
        self.page.on("worker", lambda w: w.on("console", self._console))
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.reports.append(text)

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.policies.append(response.headers.get("content-security-policy", ""))

    def violations(self) -> list[str]:
        return [*self.page.evaluate("window.__cspViolations"), *self.reports]


def until(page: Page, expression: str) -> None:
    """Polls ``expression`` with ``evaluate`` (``wait_for_function`` evaluates a string in the page,
    which the policy forbids, as it should)."""
    deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
    while not _evaluates_true(page, expression):
        assert time.monotonic() < deadline, f"not reached: {expression}"
        page.wait_for_timeout(250)


def _evaluates_true(page: Page, expression: str) -> bool:
    try:
        return bool(page.evaluate(f"Boolean({expression})"))
    except PlaywrightError:  # the document is still being replaced: not yet
        return False


def test_no_page_reports_a_csp_violation(media_browser: Browser, tmp_path: Path) -> None:
    with demo_server(tmp_path / "data") as links:
        base = links["customer"].split("/app/")[0]
        checked: dict[str, list[str]] = {}

        def visit(name: str, url: str, ready: str | None = None, settle_ms: int = 1500) -> str | None:
            """The page's violations go into ``checked``; returns its ``window.avatarCare.error``.
            Each page is closed after its visit: pages left open (a live room drawing in
            software, MediaPipe tracking) slowed every later one down."""
            context = media_browser.new_context(
                viewport={"width": 900, "height": 700}, locale="en-US", bypass_csp=False
            )
            try:
                watched = Watched(context)
                watched.page.goto(url, wait_until="commit")  # then polled: a loaded machine is slow
                if ready:
                    until(watched.page, ready)
                watched.page.wait_for_timeout(settle_ms)
                assert watched.policies and all("script-src 'self'" in p for p in watched.policies), (
                    name,
                    watched.policies,
                )
                checked[name] = watched.violations()
                error: str | None = watched.page.evaluate("window.avatarCare?.error ?? null")
                return error
            finally:
                context.close()

        visit(
            "customer's live room",
            links["customer"],
            "window.avatarCare && window.avatarCare.connected",
            4000,
        )
        console_error = visit(
            "operator's console, edge capture",
            f"{links['operator']}&mode=edge",
            "window.avatarCare && window.avatarCare.packetsReceived > 5",
        )
        assert console_error is None
        visit(
            "customer page", f"{base}/app/customer/index.html", "document.getElementById('error').textContent"
        )
        visit("operator page", f"{base}/app/operator/index.html")
        visit("admin page", f"{base}/app/admin/index.html")
        visit(
            "avatar preview",
            f"{base}/app/dev/avatar_preview.html?avatar=/assets/avatars/Asian_F_1_Casual.vrm",
            "window.avatarCare && (window.avatarCare.ready || window.avatarCare.error)",
        )
        assert {name: v for name, v in checked.items() if v} == {}
