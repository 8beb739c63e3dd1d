"""Chat under load: a message wakes only the pages that show it, and messages sent at once share a
commit without losing or mixing up any."""

from __future__ import annotations

import threading

from rooms.desk import Customer
from rooms.errors import Conflict
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


def test_messages_sent_at_once_are_all_stored_and_one_to_an_ended_session_is_refused_alone(
    database_url: str,
) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    anna.capacity = 3
    w.desk.operator_changed(anna)
    sessions = []
    for n in range(2):
        cs, _ = w.desk.join(w.template, Customer(f"c-{n}", "it"))
        w.desk.accept(cs.id, anna.id)
        sessions.append(cs.id)
    open_one, ended = sessions
    w.desk.end(ended, anna.id)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for k in range(5):
                w.desk.chat(ended if n == 0 and k == 2 else open_one, "customer", f"{n}-{k}")
        except BaseException as exc:  # collected: the test looks at each
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [type(e) for e in errors] == [Conflict]  # thread 0 stopped at its message to the ended one
    texts = {m.text for m in w.desk.transcript(open_one)}
    assert texts == {f"{n}-{k}" for n in range(20) for k in range(5)} - {"0-2", "0-3", "0-4"}
    assert w.desk.transcript(ended) == []
