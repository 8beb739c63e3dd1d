"""Processes starting together on one fresh database (a rolling deploy, commands run side by side)
migrate it once between them, and each one's work is kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from rooms.db import make_engine, session_factory
from rooms.models import Brand

PROCESSES = 3


def test_brand_commands_started_together_on_a_fresh_database(tmp_path: Path, database_url: str) -> None:
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(tmp_path), "AVATAR_CARE_DATABASE_URL": database_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "avatar_care.cli", "brand", "create", f"Brand {i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            brands = {(b.id, b.name) for b in s.scalars(select(Brand))}
    finally:
        engine.dispose()
    assert {name for _, name in brands} == {f"Brand {i}" for i in range(PROCESSES)}
    assert {id_ for id_, _ in brands} == set(range(1, PROCESSES + 1))
