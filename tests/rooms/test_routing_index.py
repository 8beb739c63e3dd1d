"""``Router.dispatch`` narrows its search (operators by brand and language, customers like one who
found nobody skipped) for speed: on any queue it must make exactly the offers of the plain rule,
every waiting customer checked against every operator, written out here as the reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.routing import Offer, Operator, Presence, Router, Waiting
from rooms.seating import SeatedRoom

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LANGUAGES = ("it", "en")
SKILLS = ("optics", "repairs")


def reference_offers(r: Router, now: datetime) -> list[Offer]:
    """The plain rule on a queue with no open offers: priority then first come; a free seat in a
    running room of an operator at work first, else the longest idle free operator."""
    busy: set[str] = set()
    made = []
    for customer in r.in_order():
        eligible = [
            op
            for op in r.operators.values()
            if op.brand_id == customer.brand_id
            and customer.language in op.languages
            # a colleague named in a transfer was chosen by a person: their skills are not asked
            and (
                customer.skills <= op.skills
                if customer.only_operator is None
                else op.id == customer.only_operator
            )
            and op.id not in busy
            and not op.in_after_call(now)
            and op.id not in customer.declined_by
        ]
        at_work = {
            op.id
            for op in eligible
            if op.presence is Presence.AVAILABLE
            or (op.presence is Presence.BUSY and op.active >= op.capacity)
        }
        rooms = sorted(
            (
                room
                for room in r.rooms.values()
                if room.template_id == customer.template_id
                and room.free_seats > 0
                and room.operator_id in at_work
            ),
            key=lambda room: room.opened_at,
        )
        if rooms:
            chosen, room_id = rooms[0].operator_id, rooms[0].id
        else:
            free = [op for op in eligible if op.presence is Presence.AVAILABLE and op.active < op.capacity]
            if not free:
                continue
            chosen, room_id = min(free, key=lambda op: op.idle_since).id, None
        busy.add(chosen)
        made.append(Offer(customer.session_id, chosen, now, now + r.accept_timeout, room_id))
    return made


operators = st.lists(
    st.tuples(
        st.integers(1, 2),  # brand
        st.sets(st.sampled_from(LANGUAGES), min_size=1),
        st.sets(st.sampled_from(SKILLS)),
        st.integers(0, 5),  # idle since, minutes
        st.sampled_from(list(Presence)),
        st.integers(1, 3),  # capacity
        st.integers(0, 3),  # running rooms
    ),
    max_size=8,
)
customers = st.lists(
    st.tuples(
        st.integers(1, 2),
        st.sampled_from(LANGUAGES),
        st.sampled_from(("t1", "t2")),
        st.sampled_from((set(), set(), {"optics"})),
        st.integers(0, 2),  # priority
        st.one_of(st.none(), st.none(), st.none(), st.integers(0, 7)),  # only this operator
        st.sets(st.integers(0, 7), max_size=3),  # declined by
    ),
    max_size=30,
)
rooms = st.lists(
    st.tuples(st.integers(0, 7), st.sampled_from(("t1", "t2")), st.integers(1, 4), st.integers(0, 4))
)


@settings(max_examples=500, deadline=None)
@given(operators, customers, rooms)
def test_dispatch_makes_the_offers_of_the_plain_rule(
    ops: list[tuple[int, set[str], set[str], int, Presence, int, int]],
    waiting: list[tuple[int, str, str, set[str], int, int | None, set[int]]],
    running: list[tuple[int, str, int, int]],
) -> None:
    r = Router()
    for i, (brand, languages, skills, idle, presence, capacity, active) in enumerate(ops):
        r.add_operator(
            Operator(
                f"o{i}",
                brand,
                frozenset(languages),
                frozenset(skills),
                T0 + timedelta(minutes=idle),
                presence,
                capacity,
                active,
            )
        )
    for n, (op, template, seats, taken) in enumerate(running):
        if f"o{op}" in r.operators:
            operator = r.operators[f"o{op}"]
            customers_in = [f"seated{n}-{k}" for k in range(min(seats, taken))]
            r.rooms[f"r{n}"] = SeatedRoom(
                f"r{n}",
                operator.id,
                operator.brand_id,
                template,
                seats,
                T0 + timedelta(seconds=n),
                customers_in,
            )
    for j, (brand, language, template, skills, priority, only, declined) in enumerate(waiting):
        r.enqueue(
            Waiting(
                f"s{j}",
                brand,
                template,
                language,
                frozenset(skills),
                T0 + timedelta(seconds=j),
                priority,
                None if only is None else f"o{only}",
                {f"o{d}" for d in declined},
            )
        )
    expected = reference_offers(r, T0)
    assert r.dispatch(T0) == expected


def test_a_customer_who_declined_the_only_operator_does_not_hold_up_the_next_of_their_kind() -> None:
    r = Router()
    r.add_operator(Operator("anna", 1, frozenset({"it"}), frozenset(), T0, Presence.AVAILABLE))
    r.enqueue(Waiting("first", 1, "t1", "it", frozenset(), T0, declined_by={"anna"}))
    r.enqueue(Waiting("second", 1, "t1", "it", frozenset(), T0 + timedelta(seconds=1)))
    assert [(o.session_id, o.operator_id) for o in r.dispatch(T0)] == [("second", "anna")]


def test_a_customer_nobody_is_free_for_holds_up_the_others_of_their_kind_only() -> None:
    r = Router()
    r.add_operator(Operator("anna", 1, frozenset({"it"}), frozenset(), T0, Presence.BUSY, active=1))
    r.add_operator(Operator("bob", 1, frozenset({"en"}), frozenset(), T0, Presence.AVAILABLE))
    r.enqueue(Waiting("it-1", 1, "t1", "it", frozenset(), T0))
    r.enqueue(Waiting("it-2", 1, "t1", "it", frozenset(), T0 + timedelta(seconds=1)))
    r.enqueue(Waiting("en-1", 1, "t1", "en", frozenset(), T0 + timedelta(seconds=2)))
    assert [(o.session_id, o.operator_id) for o in r.dispatch(T0)] == [("en-1", "bob")]
