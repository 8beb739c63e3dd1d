"""Files of an upload staged where nothing serves them, then moved into place in one step each.

``data_dir/incoming`` is on the same file system as ``data_dir/avatars`` (which the server serves),
so the move is a rename: a file appears whole or not at all. Whatever is still staged when the block
ends (refused, failed, or published only in part) is removed; files left by a crash are removed when
the server starts (:func:`clear_incoming`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)
INCOMING = "incoming"


class Staged:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: dict[str, Path] = {}

    def add(self, name: str, data: bytes) -> None:
        """Write ``data`` to a new staged file, on disk before the commit that publishes it."""
        path = self.folder / f"{secrets.token_hex(8)}.part"
        self.paths[name] = path  # known before it is written: a failed write is discarded too
        with path.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def publish(self, target: Path) -> None:
        """Move every staged file to ``target`` under its final name."""
        target.mkdir(parents=True, exist_ok=True)
        for name in list(self.paths):
            os.replace(self.paths[name], target / name)
            del self.paths[name]

    def discard(self) -> None:
        for path in self.paths.values():
            path.unlink(missing_ok=True)
        self.paths.clear()


@contextlib.contextmanager
def staged_files(data_dir: Path, files: dict[str, bytes]) -> Iterator[Staged]:
    folder = data_dir / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    staged = Staged(folder)
    try:
        for name, data in files.items():
            staged.add(name, data)
        yield staged
    finally:
        staged.discard()


def clear_incoming(data_dir: Path) -> None:
    """Remove what a crashed upload left staged (never served, never recorded)."""
    folder = data_dir / INCOMING
    if folder.is_dir():
        for path in folder.glob("*.part"):
            path.unlink(missing_ok=True)
            logger.info("removed a staged file left by an interrupted upload: %s", path.name)
