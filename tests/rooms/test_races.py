"""Check-then-write steps raced from several connections at once: the database's keys decide, and
the losers get the domain's answer (the same secret, or a Conflict), never a driver error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from rooms.catalogue import ItemSpec, add_item, cart, secrets_of, set_cart_line
from rooms.desk import Customer
from rooms.errors import Conflict
from rooms.models import CareSession
from rooms.operators import OperatorSpec, create_operator
from tests.rooms.desk_support import World, make_world

RACERS = 8
T = TypeVar("T")


def race(attempt: Callable[[int], T]) -> list[T | Exception]:
    start = threading.Barrier(RACERS)

    def one(i: int) -> T | Exception:
        start.wait(timeout=30)
        try:
            return attempt(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


@pytest.fixture
def world(database_url: str) -> World:
    return make_world(database_url)


def test_a_brands_secrets_made_on_first_use_are_made_once(world: World) -> None:
    def first_use(_i: int) -> str:
        with world.sessions() as s:
            return secrets_of(s, world.brand.id).join_secret

    outcomes = race(first_use)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1


def test_one_login_created_at_once_is_taken_once(world: World) -> None:
    def create(_i: int) -> str:
        with world.sessions() as s:
            return create_operator(s, world.brand, OperatorSpec("anna", "Anna", ["it"], []), None, "admin").id

    outcomes = race(create)
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert all(isinstance(o, (str, Conflict)) for o in outcomes), outcomes


def connected(world: World) -> CareSession:
    anna = world.operator("anna", ["it"], ["optics"])
    cs, _ = world.desk.join(world.template, Customer("c-1", "it"))
    return world.desk.accept(cs.id, anna.id)


def test_a_product_added_to_the_cart_twice_at_once_makes_one_line(world: World) -> None:
    cs = connected(world)
    with world.sessions() as s:
        item = add_item(
            s, world.brand, ItemSpec("Aria", "image", "/m/aria.png", "https://shop/aria"), "admin"
        )

    def put(i: int) -> None:
        with world.sessions() as s:
            set_cart_line(s, cs, item.id, 1 + i)

    assert race(put) == [None] * RACERS
    with world.sessions() as s:
        lines = cart(s, cs.id)
    assert len(lines) == 1 and 1 <= lines[0]["quantity"] <= RACERS


def test_a_survey_sent_twice_at_once_is_kept_once(world: World) -> None:
    cs = connected(world)
    world.desk.end(cs.id, cs.operator_id)
    outcomes = race(lambda i: world.desk.survey(cs.id, 1 + i % 5, "").csat)
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, (int, Conflict)) for o in outcomes), outcomes
