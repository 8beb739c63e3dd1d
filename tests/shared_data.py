"""Where the shared test data lives (next to the project, read-only), and a clear failure if not."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared(relative: str) -> Path:
    path = SHARED / relative
    assert path.exists(), f"test data missing: {path} (the shared/ folder sits next to the project)"
    return path
