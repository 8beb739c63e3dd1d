"""The care desk on a real database: queue, offers, timeouts, transfers, chat, surveys, restarts."""

from datetime import UTC, datetime, timedelta

import pytest

from rooms.desk import Closed, Customer
from rooms.errors import Conflict, Forbidden, Invalid
from rooms.routing import Presence
from tests.rooms.desk_support import make_world


def test_a_customer_is_offered_to_the_longest_idle_operator_with_language_and_skills(
    database_url: str,
) -> None:
    w = make_world(database_url)
    w.operator("noskill", ["it"], [])
    w.operator("english", ["en"], ["optics"])
    first = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(5)
    w.operator("bruno", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    assert w.desk.offers_for(first.id) == [cs.id]
    assert w.desk.status(cs.id).state == "offered"
    accepted = w.desk.accept(cs.id, first.id)
    assert accepted.state == "connected"
    assert [e.kind for e in w.desk.events(cs.id)] == ["queued", "offered", "connected"]


def test_a_missed_offer_times_out_goes_to_the_next_and_sets_the_operator_away(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    assert w.desk.offers_for(anna.id) == [cs.id]
    w.clock.advance(19)
    w.desk.tick()
    assert w.desk.offers_for(anna.id) == [cs.id]  # not yet
    w.clock.advance(1)
    w.desk.tick()
    assert w.desk.offers_for(bruno.id) == [cs.id]
    assert w.desk.presence(anna.id) is Presence.AWAY
    with pytest.raises(Conflict):
        w.desk.accept(cs.id, anna.id)
    w.desk.accept(cs.id, bruno.id)
    kinds = [e.kind for e in w.desk.events(cs.id)]
    assert kinds == ["queued", "offered", "offer_expired", "offered", "connected"]


def test_transfer_to_a_skill_then_end_survey_once(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    carla = w.operator("carla", ["it"], ["optics", "billing"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    with pytest.raises(Forbidden):
        w.desk.transfer(cs.id, carla.id, skills=["billing"])
    w.desk.transfer(cs.id, anna.id, skills=["optics", "billing"])
    assert w.desk.offers_for(carla.id) == [cs.id]
    w.desk.accept(cs.id, carla.id)
    w.desk.chat(cs.id, "customer", "Buongiorno")
    with pytest.raises(Conflict):
        w.desk.survey(cs.id, 5, "")
    w.clock.advance(120)
    w.desk.end(cs.id, carla.id)
    with pytest.raises(Invalid):
        w.desk.survey(cs.id, 6, "")
    w.desk.survey(cs.id, 4, "gentile")
    with pytest.raises(Conflict):
        w.desk.survey(cs.id, 5, "again")
    assert "transferred" in [e.kind for e in w.desk.events(cs.id)]
    assert w.desk.estimator.average_handle_s(w.template.id) == 120


def test_positions_estimates_and_the_offer_to_leave_a_message(database_url: str) -> None:
    w = make_world(database_url, max_wait_s=400)
    a, _ = w.desk.join(w.template, Customer("c-1", "it"))
    status = w.desk.status(a.id)
    assert status.position == 1 and status.estimated_wait_s is None and status.may_leave_message
    anna = w.operator("anna", ["it"], ["optics"])
    b, _ = w.desk.join(w.template, Customer("c-2", "it"))
    c, _ = w.desk.join(w.template, Customer("c-3", "it"))
    w.desk.accept(a.id, anna.id)
    assert w.desk.status(b.id).position == 1
    st = w.desk.status(c.id)
    assert st.position == 2 and st.estimated_wait_s == 360 and not st.may_leave_message
    w.clock.advance(400)
    assert w.desk.status(c.id).may_leave_message
    w.desk.contact_request(
        w.template, "callback", "+39 02 1234", "", w.clock.now() + timedelta(hours=2), c.id
    )
    assert w.desk.status(c.id).state == "abandoned"
    assert [r.kind for r in w.desk.contact_requests(w.brand.id)] == ["callback"]
    with pytest.raises(Invalid):
        w.desk.contact_request(w.template, "callback", "+39", "", w.clock.now() - timedelta(minutes=1))


def test_closed_rooms_say_when_they_open(database_url: str) -> None:
    hours = {"zone": "Europe/Rome", "weekly": {"mon": ["09:00-18:00"]}}
    w = make_world(database_url, hours=hours)
    w.clock.current = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 18:30 in Rome, a Monday
    with pytest.raises(Closed) as err:
        w.desk.join(w.template, Customer("c-1", "it"))
    assert err.value.next_open == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    with pytest.raises(Invalid):
        w.desk.join(w.template, Customer("c-1", "de"))


def test_a_restart_keeps_the_queue_its_order_the_chat_and_the_callbacks(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    talking, _ = w.desk.join(w.template, Customer("c-0", "it"))
    w.desk.accept(talking.id, anna.id)
    w.desk.chat(talking.id, "customer", "Ciao")
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.clock.advance(3)
    second, token = w.desk.join(w.template, Customer("c-2", "it"))
    w.desk.contact_request(w.template, "message", "a@b.it", "richiamatemi", None)
    desk = w.restart()
    assert desk.status(first.id).position == 1 and desk.status(second.id).position == 2
    assert desk.session_for_access(token) is not None
    assert [m.text for m in desk.transcript(talking.id)] == ["Ciao"]
    assert len(desk.contact_requests(w.brand.id)) == 1
    assert desk.presence(anna.id) is Presence.OFFLINE
    desk.set_presence(anna.id, Presence.AVAILABLE)
    # anna still has her connected customer (capacity 1): nobody is offered until she ends it
    assert desk.offers_for(anna.id) == []
    desk.end(talking.id, anna.id)
    assert desk.offers_for(anna.id) == [first.id]


def test_transcripts_are_kept_as_long_as_the_template_says(database_url: str) -> None:
    w = make_world(database_url, transcript_days=30)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.desk.chat(cs.id, "customer", "Ciao")
    w.desk.end(cs.id, anna.id)
    w.clock.advance(29 * 86400)
    assert w.desk.purge_transcripts() == 0 and len(w.desk.transcript(cs.id)) == 1
    w.clock.advance(2 * 86400)
    assert w.desk.purge_transcripts() == 1 and w.desk.transcript(cs.id) == []
    assert "ended" in [e.kind for e in w.desk.events(cs.id)]  # the figures keep their history


def test_a_template_that_keeps_no_transcripts_drops_the_chat_at_the_end(database_url: str) -> None:
    w = make_world(database_url, keep_transcripts=False)
    anna = w.operator("anna", ["it"], ["optics"])
    cs, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(cs.id, anna.id)
    w.desk.chat(cs.id, "customer", "Ciao")
    assert len(w.desk.transcript(cs.id)) == 1  # persisted while it happens
    w.desk.end(cs.id, anna.id)
    assert w.desk.transcript(cs.id) == []


def test_a_shared_room_seats_customers_with_their_own_sessions_and_survives_a_restart(
    database_url: str,
) -> None:
    from rooms.seating import SeatFreed

    w = make_world(database_url, max_customers=2)
    anna = w.operator("anna", ["it"], ["optics"])
    w.clock.advance(1)
    bruno = w.operator("bruno", ["it"], ["optics"])
    freed: list[SeatFreed] = []
    w.desk.seat_listeners.append(freed.append)
    first, _ = w.desk.join(w.template, Customer("c-1", "it"))
    w.desk.accept(first.id, anna.id)
    second, _ = w.desk.join(w.template, Customer("c-2", "it"))
    assert w.desk.offers_for(anna.id) == [second.id]  # a seat in anna's room, before bruno
    room_id = w.desk.accept(second.id, anna.id).live_room_id
    assert room_id is not None
    info = w.desk.live_room(room_id)
    assert info is not None and info.sessions == (first.id, second.id) and info.operator_id == anna.id
    assert room_id not in (first.id, second.id) and "c-1" not in room_id
    third, _ = w.desk.join(w.template, Customer("c-3", "it"))
    assert w.desk.offers_for(bruno.id) == [third.id]  # the room is full
    w.desk.chat(first.id, "customer", "solo mia")
    assert [m.text for m in w.desk.transcript(second.id)] == []  # each keeps their own chat

    w.restart()
    assert w.desk.live_room(room_id) == info
    w.desk.set_presence(anna.id, Presence.AVAILABLE)
    w.desk.set_presence(bruno.id, Presence.AVAILABLE)
    w.desk.end(first.id, anna.id)
    w.desk.seat_listeners.append(freed.append)
    w.clock.advance(60)
    w.desk.end(second.id, None)
    assert freed == [SeatFreed(room_id, second.id, room_closed=True)]
    assert w.desk.live_room(room_id) is None
    kinds = [e.kind for e in w.desk.events(first.id)]
    assert kinds[-1] == "ended" and kinds.count("connected") == 1


def test_a_freed_seat_is_offered_to_the_next_customer_of_the_template(database_url: str) -> None:
    from rooms.seating import SeatFreed

    w = make_world(database_url, max_customers=2)
    anna = w.operator("anna", ["it"], ["optics"])
    freed: list[SeatFreed] = []
    w.desk.seat_listeners.append(freed.append)
    sessions = [w.desk.join(w.template, Customer(f"c-{i}", "it"))[0] for i in range(3)]
    w.desk.accept(sessions[0].id, anna.id)
    room_id = w.desk.accept(sessions[1].id, anna.id).live_room_id
    assert room_id is not None and w.desk.offers_for(anna.id) == []
    w.desk.end(sessions[0].id, None)
    assert freed == [SeatFreed(room_id, sessions[0].id, room_closed=False)]
    assert w.desk.offers_for(anna.id) == [sessions[2].id]
    assert w.desk.accept(sessions[2].id, anna.id).live_room_id == room_id
