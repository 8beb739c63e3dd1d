"""Chat under load: a message is told as itself, to the pages of its session and operator, not as a
change that rebuilds views; messages sent at once share a commit without losing or mixing up any,
and are told once each, in the order of their ids."""

from __future__ import annotations

import threading

from rooms.desk import ChatPosted, Customer
from rooms.errors import Conflict
from tests.rooms.desk_support import make_world


def test_a_chat_message_is_told_as_itself_with_its_session_and_operator(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    changed: list[tuple[int, frozenset[str] | None]] = []
    posted: list[ChatPosted] = []
    w.desk.listeners.append(lambda brand_id, about: changed.append((brand_id, about)))
    w.desk.chat_listeners.append(posted.append)
    stored = w.desk.chat(cs.id, "customer", " Buongiorno ")
    assert changed == []  # no view is rebuilt for a message
    assert posted == [ChatPosted(w.brand.id, cs.id, anna.id, stored.id, "customer", "Buongiorno", stored.at)]
    assert posted[0].as_json() == {
        "session_id": cs.id,
        "id": stored.id,
        "sender": "customer",
        "text": "Buongiorno",
        "at": stored.at.isoformat(),
    }
    w.desk.join(w.template, Customer("c-2", "it"))  # the queue changed: everyone in the brand
    assert (w.brand.id, None) in changed
    assert len(posted) == 1


def test_messages_sent_at_once_are_told_once_each_in_the_order_of_their_ids(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    posted: list[ChatPosted] = []
    w.desk.chat_listeners.append(posted.append)  # called from the writing thread, one at a time

    def send(n: int) -> None:
        for k in range(10):
            w.desk.chat(cs.id, "customer" if n % 2 else "operator", f"{n}-{k}")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stored = w.desk.transcript(cs.id)
    assert len(stored) == 120
    assert [(p.id, p.text, p.sender) for p in posted] == [(m.id, m.text, m.sender) for m in stored]
    assert [p.id for p in posted] == sorted({p.id for p in posted})


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
