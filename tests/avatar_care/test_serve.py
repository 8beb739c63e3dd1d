"""``avatar-care serve`` starts a real server that answers on the port it was given."""

from pathlib import Path

import httpx

from tests.support import running_server


def test_serve_answers_then_stops(tmp_path: Path) -> None:
    with running_server("serve", tmp_path) as (base, first_line):
        assert first_line == f"avatar-care: serving on {base} (API docs at /docs)"
        assert httpx.get(f"{base}/api/health", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
