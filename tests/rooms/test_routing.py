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
) -> Waiting:
    return Waiting(
        session_id=sid,
        brand_id=brand,
        template_id=template,
        language=lang,
        skills=frozenset(skills.split()),
        enqueued_at=T0 + timedelta(seconds=at),
        priority=priority,
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
    r.finish("a", T0 + timedelta(minutes=5))
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
