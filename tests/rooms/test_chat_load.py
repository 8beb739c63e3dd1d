"""Chat under load: a message wakes only the pages that show it."""

from __future__ import annotations

from rooms.desk import Customer
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
