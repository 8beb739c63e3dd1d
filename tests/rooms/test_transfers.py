"""Transfers and after-call work on a real database (SQLite and PostgreSQL) with a manual clock:
cold to a room template, a skill or a named colleague (at the head of the target's queue, keeping
the original wait; a colleague who declines, misses or is absent sends the customer back), warm
after a consult, wrap-up codes required or optional, the after-call time box, and their figures."""

from datetime import timedelta

import pytest

from rooms.desk import Customer
from rooms.errors import Conflict, Invalid, NotFound
from rooms.figures import figures, operator_figures
from rooms.models import CareSession, RoomTemplate
from rooms.routing import Presence
from rooms.templates import TemplateSpec, create_template, update_template
from tests.rooms.desk_support import World, make_world


def _template(w: World, name: str, skills: list[str], languages: list[str] | None = None) -> RoomTemplate:
    with w.sessions() as s:
        return create_template(s, w.brand, TemplateSpec(name, languages or ["it"], skills), "admin")


def _wrap_up_rules(w: World, codes: list[str], required: bool, after_call_s: int) -> None:
    with w.sessions() as s:
        spec = TemplateSpec(
            "Occhiali",
            ["it", "en"],
            ["optics"],
            wrap_up_codes=codes,
            wrap_up_required=required,
            after_call_s=after_call_s,
        )
        update_template(s, w.brand, w.template.id, spec, "admin")


def _kinds(w: World, session_id: str) -> list[str]:
    return [e.kind for e in w.desk.events(session_id)]


def test_cold_to_a_template_puts_the_customer_first_in_its_queue_with_their_wait_chat_and_cart(
    database_url: str,
) -> None:
    w = make_world(database_url)
    billing = _template(w, "Fatture", ["billing"])
    carla = w.operator("carla", ["it"], ["billing"], available=False)
    earlier, _ = w.desk.join(billing, Customer("c-0", "it"))  # nobody at work for billing yet
    w.clock.advance(30)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it", name="Lucia"))
    w.desk.accept(cs.id, anna.id)
    w.desk.chat(cs.id, "customer", "Vorrei una fattura")
    w.clock.advance(60)
    w.desk.transfer(cs.id, anna.id, to_template=billing.id)
    status = w.desk.status(cs.id)
    assert status.state == "transferred" and status.position == 1  # ahead of c-0, who came first
    assert w.desk.status(earlier.id).position == 2
    w.desk.set_presence(carla.id, Presence.AVAILABLE)
    assert w.desk.offers_for(carla.id) == [cs.id]
    moved = w.desk.accept(cs.id, carla.id)
    assert moved.id == cs.id and moved.template_id == billing.id and moved.skills == ["billing"]
    assert [m.text for m in w.desk.transcript(cs.id)] == ["Vorrei una fattura"]
    with w.sessions() as s:
        row = s.get(CareSession, cs.id)
        assert row is not None and row.enqueued_at == cs.enqueued_at  # the original wait is kept
    assert w.desk.presence(anna.id) is Presence.AVAILABLE  # her room closed


def test_cold_to_a_template_of_another_language_or_brand_is_refused_and_nothing_changes(
    database_url: str,
) -> None:
    w = make_world(database_url)
    english = _template(w, "English desk", [], ["en"])
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    with pytest.raises(Invalid):
        w.desk.transfer(cs.id, anna.id, to_template=english.id)
    with pytest.raises(NotFound):
        w.desk.transfer(cs.id, anna.id, to_template="nosuchtemplate")
    with pytest.raises(Invalid):
        w.desk.transfer(cs.id, anna.id)
    assert w.desk.status(cs.id).state == "connected"
    assert "transferred" not in _kinds(w, cs.id)


def test_cold_to_a_skill_goes_ahead_of_everyone_waiting(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.clock.advance(10)
    later = [w.desk.join(w.template, Customer(f"c-{i}", "it", priority=5))[0] for i in range(2, 4)]
    w.desk.transfer(cs.id, anna.id, skills=["optics", "billing"])
    w.clock.advance(1)
    carla = w.operator("carla", ["it"], ["optics", "billing"])
    assert w.desk.offers_for(carla.id) == [cs.id]  # first, though the others have priority 5
    assert w.desk.offers_for(anna.id) == [later[0].id]  # anna is not offered her own transfer


def test_named_colleague_declines_and_the_customer_goes_back_to_the_first_operator(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    bruno = w.operator("bruno", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    offered_to = anna if w.desk.offers_for(anna.id) else bruno
    other = bruno if offered_to is anna else anna
    w.desk.accept(cs.id, offered_to.id)
    w.desk.transfer(cs.id, offered_to.id, to_operator=other.id)
    assert w.desk.offers_for(other.id) == [cs.id]
    assert w.desk.offers_for(offered_to.id) == []
    w.desk.decline(cs.id, other.id)
    assert w.desk.offers_for(offered_to.id) == [cs.id]  # back with the first operator
    assert w.desk.status(cs.id).position == 1
    w.desk.accept(cs.id, offered_to.id)
    assert _kinds(w, cs.id)[-5:] == ["offered", "offer_declined", "transfer_returned", "offered", "connected"]


def test_named_colleague_who_misses_the_offer_or_is_absent_sends_the_customer_back(
    database_url: str,
) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.desk.transfer(cs.id, anna.id, to_operator=bruno.id)
    assert w.desk.offers_for(bruno.id) == [cs.id]
    w.clock.advance(20)
    w.desk.tick()  # bruno missed it: set away, the customer back to anna
    assert w.desk.presence(bruno.id) is Presence.AWAY
    assert w.desk.offers_for(anna.id) == [cs.id]
    w.desk.accept(cs.id, anna.id)
    # absent from the start: back at once
    w.desk.transfer(cs.id, anna.id, to_operator=bruno.id)
    assert w.desk.offers_for(anna.id) == [cs.id]
    assert _kinds(w, cs.id).count("transfer_returned") == 2


def test_a_colleague_leaving_the_desk_after_the_transfer_sends_the_customer_back(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    w.clock.advance(1)
    carla = w.operator("carla", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    busy, _ = w.desk.join(w.template, Customer("c-2", "it"))
    w.desk.accept(busy.id, bruno.id)  # bruno is at the desk but has no capacity
    w.desk.transfer(first.id, anna.id, to_operator=bruno.id)
    assert w.desk.offers_for(bruno.id) == [] and w.desk.status(first.id).state == "transferred"
    assert w.desk.offers_for(carla.id) == []  # named: nobody else
    w.desk.set_presence(bruno.id, Presence.OFFLINE)
    assert w.desk.offers_for(anna.id) == [first.id]


def test_warm_transfer_after_a_consult_moves_the_customer_to_the_colleagues_room(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.desk.chat(cs.id, "customer", "Ciao")
    with w.sessions() as s:
        first_room = s.get(CareSession, cs.id).live_room_id  # type: ignore[union-attr]
    freed = []
    w.desk.seat_listeners.append(freed.append)
    with pytest.raises(Conflict):
        w.desk.hand_over(cs.id, anna.id)  # no consult yet
    w.desk.consult(cs.id, anna.id, bruno.id)
    with pytest.raises(Conflict):
        w.desk.consult_message(cs.id, anna.id, "not joined yet")
    with pytest.raises(Conflict):
        w.desk.hand_over(cs.id, anna.id)  # bruno has not joined the consult
    w.desk.answer_consult(cs.id, bruno.id, True)
    w.desk.consult_message(cs.id, anna.id, "Cliente con fattura da rifare")
    w.desk.consult_message(cs.id, bruno.id, "Passamela")
    with w.sessions() as s:
        assert [(m.sender, m.text) for m in w.desk.consult_messages(s, cs.id)] == [
            (anna.id, "Cliente con fattura da rifare"),
            (bruno.id, "Passamela"),
        ]
    moved = w.desk.hand_over(cs.id, anna.id)
    assert moved.id == cs.id and moved.state == "connected" and moved.operator_id == bruno.id
    assert moved.live_room_id not in (None, first_room)
    assert [e.room_id for e in freed] == [first_room] and freed[0].room_closed and freed[0].transferred
    room = w.desk.live_room(moved.live_room_id or "")
    assert room is not None and room.operator_id == bruno.id and room.sessions == (cs.id,)
    assert w.desk.live_room(first_room or "") is None
    assert w.desk.presence(anna.id) is Presence.AVAILABLE and w.desk.presence(bruno.id) is Presence.BUSY
    assert [m.text for m in w.desk.transcript(cs.id)] == ["Ciao"]
    w.desk.chat(cs.id, "operator", "Sono Bruno")
    w.desk.end(cs.id, bruno.id)
    assert w.desk.status(cs.id).state == "ended"


def test_warm_transfer_declined_or_to_an_absent_colleague_leaves_the_customer_with_the_first(
    database_url: str,
) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    carla = w.operator("carla", ["it"], ["optics"], available=False)
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    with pytest.raises(Conflict):
        w.desk.consult(cs.id, anna.id, carla.id)  # not at the desk
    w.desk.consult(cs.id, anna.id, bruno.id)
    with pytest.raises(Conflict):
        w.desk.consult(cs.id, anna.id, bruno.id)  # one at a time
    w.desk.answer_consult(cs.id, bruno.id, False)
    with pytest.raises(Conflict):
        w.desk.hand_over(cs.id, anna.id)
    w.desk.consult(cs.id, anna.id, bruno.id)
    w.desk.answer_consult(cs.id, bruno.id, True)
    w.desk.set_presence(bruno.id, Presence.AWAY)  # left the desk during the consult
    with pytest.raises(Conflict):
        w.desk.hand_over(cs.id, anna.id)
    status = w.desk.status(cs.id)
    assert status.state == "connected" and status.operator_name == "Anna"
    w.desk.cancel_consult(cs.id, anna.id)
    with pytest.raises(Conflict):
        w.desk.answer_consult(cs.id, bruno.id, True)
    assert "consult_declined" in _kinds(w, cs.id) and "consult_cancelled" in _kinds(w, cs.id)


def test_a_required_wrap_up_code_comes_before_the_next_offer(database_url: str) -> None:
    w = make_world(database_url)
    _wrap_up_rules(w, ["vendita", "informazioni"], required=True, after_call_s=30)
    anna = w.operator("anna", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    w.clock.advance(100)
    w.desk.end(first.id, anna.id)
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    assert w.desk.offers_for(anna.id) == []
    w.clock.advance(600)  # long past the time box: the code is still owed
    w.desk.tick()
    assert w.desk.offers_for(anna.id) == []
    with w.sessions() as s:
        items = w.desk.after_call(s, anna.id)
    assert [(i.session_id, i.required, i.codes) for i in items] == [
        (first.id, True, ("vendita", "informazioni"))
    ]
    with pytest.raises(Invalid):
        w.desk.wrap_up(first.id, anna.id, None)
    with pytest.raises(Invalid):
        w.desk.wrap_up(first.id, anna.id, "sconosciuto")
    w.desk.wrap_up(first.id, anna.id, "vendita")
    assert w.desk.offers_for(anna.id) == [second.id]
    with pytest.raises(Conflict):
        w.desk.wrap_up(first.id, anna.id, "vendita")  # once
    with w.sessions() as s:
        f = figures(s, w.brand.id, 0, first.created_at - timedelta(1), w.clock.now() + timedelta(1))
    assert f.wrap_up_codes == {"vendita": 1}
    assert f.average_after_call_s == 600  # the end to the code, past the time box


def test_after_call_time_box_ends_and_the_operator_is_offered_again(database_url: str) -> None:
    w = make_world(database_url)
    _wrap_up_rules(w, ["vendita"], required=False, after_call_s=30)
    anna = w.operator("anna", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    w.desk.end(first.id, anna.id)
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    w.clock.advance(29)
    w.desk.tick()
    assert w.desk.offers_for(anna.id) == []
    w.clock.advance(1)
    w.desk.tick()
    assert w.desk.offers_for(anna.id) == [second.id]
    w.desk.accept(second.id, anna.id)
    w.desk.end(second.id, anna.id)
    w.clock.advance(12)
    w.desk.wrap_up(second.id, anna.id, None)  # optional: done early, without a code
    third, _ = w.desk.join(w.template, Customer("c-3", "it"))
    assert w.desk.offers_for(anna.id) == [third.id]
    with w.sessions() as s:
        f = figures(s, w.brand.id, 0, first.created_at - timedelta(1), w.clock.now() + timedelta(1))
    assert f.average_after_call_s == (30 + 12) / 2
    assert f.wrap_up_codes == {}
    with w.sessions() as s:
        per_operator = operator_figures(
            s, w.brand.id, first.created_at - timedelta(1), w.clock.now() + timedelta(1)
        )
    assert [(o.name, o.handled, o.average_after_call_s) for o in per_operator] == [("Anna", 2, 21)]


def test_after_call_work_survives_a_restart(database_url: str) -> None:
    w = make_world(database_url)
    _wrap_up_rules(w, ["vendita"], required=True, after_call_s=0)
    anna = w.operator("anna", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    w.desk.end(first.id, anna.id)
    desk = w.restart()
    desk.set_presence(anna.id, Presence.AVAILABLE)
    second, _ = desk.join(w.template, Customer("c-2", "it"))
    assert desk.offers_for(anna.id) == []
    desk.wrap_up(first.id, anna.id, "vendita")
    assert desk.offers_for(anna.id) == [second.id]


def test_wrap_up_settings_are_checked(database_url: str) -> None:
    w = make_world(database_url)
    for codes, required, box in (
        ([], True, 0),
        (["a", "a"], False, 0),
        ([" a"], False, 0),
        ([""], False, 0),
        (["x" * 101], False, 0),
        (["a\x00"], False, 0),
        (["a"], False, -1),
        (["a"], False, 3601),
    ):
        with pytest.raises(Invalid):
            _wrap_up_rules(w, codes, required, box)


def test_a_named_colleague_is_offered_whatever_their_skills_but_not_without_the_language(
    database_url: str,
) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it", "en"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], [])  # no optics: named, he is offered anyway
    w.clock.advance(1)
    john = w.operator("john", ["en"], ["optics"])  # no Italian: he could never take the customer
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.desk.transfer(cs.id, anna.id, to_operator=bruno.id)
    assert w.desk.offers_for(bruno.id) == [cs.id]
    w.desk.accept(cs.id, bruno.id)
    w.desk.transfer(cs.id, bruno.id, to_operator=john.id)
    assert w.desk.offers_for(john.id) == []
    assert w.desk.offers_for(bruno.id) == [cs.id]  # back at once


def test_a_consultation_the_customer_ends_starts_after_call_work_too(database_url: str) -> None:
    w = make_world(database_url)
    _wrap_up_rules(w, ["vendita"], required=False, after_call_s=10)
    anna = w.operator("anna", ["it"], ["optics"])
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    w.desk.end(first.id)  # the customer leaves
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    assert w.desk.offers_for(anna.id) == []
    w.clock.advance(10)
    w.desk.tick()
    assert w.desk.offers_for(anna.id) == [second.id]
    with w.sessions() as s:
        assert w.desk.after_call(s, anna.id) == []  # the time box ran out: nothing left to show
