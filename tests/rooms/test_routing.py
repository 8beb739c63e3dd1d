from datetime import UTC, datetime, timedelta

import pytest

from rooms.routing import Operator, Presence, Router, RoutingError, Waiting

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def op(
    id: str, *, brand: int = 1, langs: str = "it", skills: str = "", idle: int = 0, capacity: int = 1
) -> Operator:
    return Operator(
        id=id,
        brand_id=brand,
        languages=frozenset(langs.split()),
        skills=frozenset(skills.split()),
        idle_since=T0 - timedelta(minutes=idle),
        presence=Presence.AVAILABLE,
        capacity=capacity,
    )


def customer(
    sid: str,
    *,
    brand: int = 1,
    lang: str = "it",
    skills: str = "",
    at: int = 0,
    priority: int = 0,
    template: str = "shop",
    seats: int = 1,
) -> Waiting:
    return Waiting(
        session_id=sid,
        brand_id=brand,
        template_id=template,
        language=lang,
        skills=frozenset(skills.split()),
        enqueued_at=T0 + timedelta(seconds=at),
        priority=priority,
        seats=seats,
    )


def router(*operators: Operator) -> Router:
    r = Router(accept_timeout=timedelta(seconds=20))
    for o in operators:
        r.add_operator(o)
    return r


def test_only_operators_of_the_brand_with_the_language_and_skills() -> None:
    r = router(
        op("other-brand", brand=2, langs="it", skills="lenses", idle=60),
        op("english", langs="en", skills="lenses", idle=50),
        op("no-skill", langs="it", idle=40),
        op("right", langs="it en", skills="lenses frames", idle=1),
    )
    r.enqueue(customer("c1", lang="it", skills="lenses"))
    offers = r.dispatch(T0)
    assert [(o.session_id, o.operator_id) for o in offers] == [("c1", "right")]


def test_the_longest_idle_operator_gets_the_offer() -> None:
    r = router(op("recent", idle=1), op("longest", idle=30), op("middle", idle=10))
    r.enqueue(customer("c1"))
    r.enqueue(customer("c2", at=1))
    offers = r.dispatch(T0)
    assert [(o.session_id, o.operator_id) for o in offers] == [("c1", "longest"), ("c2", "middle")]


def test_first_come_first_served_within_a_priority_and_priority_first() -> None:
    r = router(op("a"))
    for sid, at, prio in (("early", 0, 0), ("late-vip", 30, 1), ("later", 10, 0)):
        r.enqueue(customer(sid, at=at, priority=prio))
    assert [r.position(s) for s in ("late-vip", "early", "later")] == [1, 2, 3]
    assert r.dispatch(T0)[0].session_id == "late-vip"


def test_a_missed_offer_goes_to_the_next_operator_and_the_first_is_set_away() -> None:
    r = router(op("slow", idle=10), op("next", idle=5))
    r.enqueue(customer("c1"))
    assert r.dispatch(T0)[0].operator_id == "slow"
    assert r.dispatch(T0 + timedelta(seconds=19)) == []  # still within the timeout
    offers = r.dispatch(T0 + timedelta(seconds=20))
    assert [o.operator_id for o in offers] == ["next"]
    assert r.operators["slow"].presence is Presence.AWAY
    with pytest.raises(RoutingError, match="not offered to operator slow"):
        r.accept("c1", "slow", T0 + timedelta(seconds=21))
    taken = r.accept("c1", "next", T0 + timedelta(seconds=25))
    assert taken.session_id == "c1" and r.waiting == [] and r.operators["next"].presence is Presence.BUSY


def test_accepting_after_the_timeout_is_refused() -> None:
    r = router(op("a"))
    r.enqueue(customer("c1"))
    r.dispatch(T0)
    with pytest.raises(RoutingError, match="expired"):
        r.accept("c1", "a", T0 + timedelta(seconds=20))


def test_a_declined_customer_is_not_offered_to_the_same_operator_again() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    r.enqueue(customer("c1"))
    assert r.dispatch(T0)[0].operator_id == "a"
    r.decline("c1", "a")
    assert r.dispatch(T0)[0].operator_id == "b"


def test_capacity_and_finishing() -> None:
    r = router(op("a", capacity=2))
    for i in range(3):
        r.enqueue(customer(f"c{i}", at=i))
    for offer in r.dispatch(T0):
        r.accept(offer.session_id, "a", T0)
    assert r.operators["a"].active == 1  # one offer at a time per operator
    for offer in r.dispatch(T0):
        r.accept(offer.session_id, "a", T0)
    a = r.operators["a"]
    assert a.active == 2 and a.presence.value == "busy"
    assert r.dispatch(T0) == []  # full
    room, closed = r.leave_seat("c0", T0 + timedelta(minutes=5))
    assert closed and room.customers == []
    assert a.presence.value == "available"
    assert [o.session_id for o in r.dispatch(T0 + timedelta(minutes=5))] == ["c2"]


def test_transfer_to_a_skill_goes_to_the_front_of_the_queue() -> None:
    r = router(op("first", idle=10), op("expert", skills="warranty", idle=1))
    r.enqueue(customer("c1"))
    r.enqueue(customer("c2", at=5))
    r.accept("c1", "first", T0) if r.dispatch(T0) else None
    connected = customer("c1")
    r.offers.clear()  # c2's pending offer is irrelevant to this test
    moved = r.transfer(connected, "first", T0 + timedelta(minutes=2), skills=frozenset({"warranty"}))
    assert r.position("c1") == 1 and moved.skills == {"warranty"}
    offers = r.dispatch(T0 + timedelta(minutes=2))
    assert ("c1", "expert") in [(o.session_id, o.operator_id) for o in offers]


def test_transfer_to_a_named_colleague_and_not_across_brands() -> None:
    r = router(op("a", idle=10), op("b", idle=1), op("foreign", brand=2))
    r.enqueue(customer("c1"))
    r.accept("c1", "a", T0) if r.dispatch(T0) else None
    r.transfer(customer("c1"), "a", T0, to_operator="b")
    assert [o.operator_id for o in r.dispatch(T0)] == ["b"]
    r.accept("c1", "b", T0)
    with pytest.raises(RoutingError, match="another brand"):
        r.transfer(customer("c1"), "b", T0, to_operator="foreign")


def test_going_away_withdraws_an_offer() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    r.enqueue(customer("c1"))
    r.dispatch(T0)
    r.set_presence("a", Presence.AWAY, T0)
    assert [o.operator_id for o in r.dispatch(T0)] == ["b"]


def test_leaving_the_queue_and_bad_requests() -> None:
    r = router(op("a"))
    r.enqueue(customer("c1"))
    with pytest.raises(RoutingError, match="already waiting"):
        r.enqueue(customer("c1"))
    r.leave("c1")
    with pytest.raises(RoutingError, match="not waiting"):
        r.position("c1")
    with pytest.raises(RoutingError, match="no operator"):
        r.set_presence("ghost", Presence.AVAILABLE, T0)


# -- shared rooms: seats ------------------------------------------------------------------------


def accept_all(r: Router, now: datetime = T0) -> list[str]:
    made = r.dispatch(now)
    for offer in made:
        r.accept(offer.session_id, offer.operator_id, now)
    return [o.session_id for o in made]


def test_the_next_customer_of_the_template_is_offered_a_free_seat_first() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    r.enqueue(customer("c1", seats=3))
    accept_all(r)
    room = r.room_of("c1")
    assert room is not None and room.operator_id == "a" and room.free_seats == 2
    assert r.operators["a"].presence is Presence.BUSY  # capacity 1: its one room runs
    r.enqueue(customer("c2", at=5, seats=3))
    offers = r.dispatch(T0 + timedelta(seconds=5))
    # b is free and idle, but a's room has a seat: the customer joins the running room
    assert [(o.session_id, o.operator_id, o.room_id) for o in offers] == [("c2", "a", room.id)]
    r.accept("c2", "a", T0 + timedelta(seconds=6))
    assert r.room_of("c2") is room and room.customers == ["c1", "c2"]
    assert r.operators["a"].active == 1  # one room, however many seats are taken


def test_a_full_room_sends_the_next_customer_to_another_operator() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    for i in range(3):
        r.enqueue(customer(f"c{i}", at=i, seats=2))
    # c0 opens a's room, c1 opens b's (one offer per operator at a time), c2 waits for a seat
    assert accept_all(r) == ["c0", "c1"]
    assert [(o.session_id, o.operator_id) for o in r.dispatch(T0)] == [("c2", "a")]  # a's room opened first
    r.accept("c2", "a", T0)
    r.enqueue(customer("c3", at=3, seats=2))
    offers = r.dispatch(T0)
    assert [(o.session_id, o.operator_id) for o in offers] == [("c3", "b")]
    r.accept("c3", "b", T0)
    r.enqueue(customer("c4", at=4, seats=2))
    assert r.dispatch(T0) == []  # every seat taken and every operator at capacity


def test_a_seat_freed_when_a_customer_ends_goes_to_the_next_and_the_last_closes_the_room() -> None:
    r = router(op("a"))
    for i in range(3):
        r.enqueue(customer(f"c{i}", at=i, seats=2))
    accept_all(r)
    accept_all(r)
    room = r.room_of("c0")
    assert room is not None and room.customers == ["c0", "c1"] and r.dispatch(T0) == []
    later = T0 + timedelta(minutes=3)
    same, closed = r.leave_seat("c0", later)
    assert same is room and not closed and r.operators["a"].active == 1
    assert [(o.session_id, o.room_id) for o in r.dispatch(later)] == [("c2", room.id)]
    r.accept("c2", "a", later)
    r.leave_seat("c1", later)
    _, closed = r.leave_seat("c2", later + timedelta(minutes=1))
    assert closed and room.id not in r.rooms
    a = r.operators["a"]
    assert a.active == 0 and a.presence is Presence.AVAILABLE and a.idle_since == later + timedelta(minutes=1)
    with pytest.raises(RoutingError, match="sits in no room"):
        r.leave_seat("c2", later)


def test_seats_follow_the_template_and_the_customers_needs() -> None:
    r = router(op("a", langs="it", idle=10), op("b", langs="en", idle=1))
    r.enqueue(customer("c1", seats=4, template="shop"))
    accept_all(r)
    r.enqueue(customer("other-template", at=1, seats=4, template="repairs"))
    r.enqueue(customer("english", at=2, seats=4, lang="en"))
    offers = {o.session_id: (o.operator_id, o.room_id) for o in r.dispatch(T0)}
    # a's room is of another template for the first and speaks no English for the second
    assert offers == {"english": ("b", None)}


def test_a_missed_seat_is_not_offered_again_and_does_not_set_the_operator_away() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    r.enqueue(customer("c1", seats=2))
    accept_all(r)
    r.enqueue(customer("c2", at=1, seats=2))
    assert r.dispatch(T0)[0].operator_id == "a"
    offers = r.dispatch(T0 + timedelta(seconds=20))
    assert [(o.operator_id, o.room_id) for o in offers] == [("b", None)]
    assert r.operators["a"].presence is Presence.BUSY


def test_an_operator_busy_by_hand_gets_no_seat_offers() -> None:
    r = router(op("a", capacity=2))
    r.enqueue(customer("c1", seats=2))
    accept_all(r)
    r.set_presence("a", Presence.BUSY, T0)  # one room of two running: busy on purpose
    r.enqueue(customer("c2", at=1, seats=2))
    assert r.dispatch(T0) == []


def test_a_transfer_frees_the_seat_and_the_room_goes_on() -> None:
    r = router(op("a", idle=10), op("b", idle=1))
    r.enqueue(customer("c1", seats=2))
    accept_all(r)
    r.enqueue(customer("c2", at=1, seats=2))
    accept_all(r)
    room = r.room_of("c1")
    assert room is not None and room.customers == ["c1", "c2"]
    r.transfer(customer("c1", seats=2), "a", T0, to_operator="b")
    assert room.customers == ["c2"] and r.room_of("c1") is None
    offers = r.dispatch(T0)
    assert [(o.session_id, o.operator_id, o.room_id) for o in offers] == [("c1", "b", None)]
    with pytest.raises(RoutingError, match="not in a room of operator b"):
        r.transfer(customer("c2"), "b", T0, to_operator="a")


def test_accepting_a_seat_in_a_room_that_closed_meanwhile() -> None:
    r = router(op("a", capacity=2), op("b"))
    r.enqueue(customer("c1", seats=2))
    r.accept("c1", "a", T0) if r.dispatch(T0) else None
    r.enqueue(customer("c2", at=1, seats=2))
    offer = r.dispatch(T0)[0]
    assert offer.operator_id == "a" and offer.room_id is not None
    r.leave_seat("c1", T0)  # the room closes before the seat is accepted
    assert r.seat_for(offer) is None
    r.accept("c2", "a", T0, new_room_id="lr-new")  # a's capacity allows a room of c2's own
    assert r.room_of("c2") is r.rooms["lr-new"] and r.operators["a"].active == 1
