"""Chat under load: a message wakes only the pages that show it, and SQLite writers take turns."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from rooms.db import make_engine, migrate, session_factory, sqlite_writers
from rooms.desk import Customer
from rooms.models import ChatMessage
from tests.rooms.desk_support import make_world


def test_a_chat_message_concerns_its_session_and_operator_only(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    heard: list[tuple[int, frozenset[str] | None]] = []
    w.desk.listeners.append(lambda brand_id, about: heard.append((brand_id, about)))
    w.desk.chat(cs.id, "customer", "Buongiorno")
    assert heard == [(w.brand.id, frozenset({cs.id, anna.id}))]
    heard.clear()
    w.desk.join(w.template, Customer("c-2", "it"))  # the queue changed: everyone in the brand
    assert (w.brand.id, None) in heard


def test_many_sqlite_writers_at_once_all_commit_without_waiting_on_each_other_blindly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'care.sqlite3'}")
    migrate(engine)
    w = make_world(f"sqlite:///{tmp_path / 'care.sqlite3'}")
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for k in range(10):
                w.desk.chat(cs.id, "customer", f"{n}-{k}")
        except BaseException as exc:  # collected: the test fails on any
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with session_factory(engine)() as db:
        assert db.scalar(select(func.count()).select_from(ChatMessage)) == 400
    # the desk's engine takes writers in turn, and its lock is free again once all committed
    writers = sqlite_writers(w.sessions.kw["bind"])
    assert writers is not None and not writers.lock.locked()
    engine.dispose()
