"""Tickets in the domain, on SQLite and PostgreSQL: a close raced from several connections is done
once (one audit entry, the others a Conflict), and an answer raced with a close never lands on a
closed ticket."""

from __future__ import annotations

import pytest

from rooms.audit import entries
from rooms.desk import Customer
from rooms.errors import Conflict
from rooms.models import ProblemReport
from rooms.tickets import Ticket, TicketFilter, answer_ticket, close_ticket, list_tickets
from tests.rooms.desk_support import World, make_world
from tests.rooms.test_races import RACERS, race


@pytest.fixture
def world(database_url: str) -> World:
    return make_world(database_url)


def reported(world: World) -> int:
    anna = world.operator("anna", ["it"], ["optics"])
    cs, _ = world.desk.join(world.template, Customer("c-1", "it"))
    world.desk.accept(cs.id, anna.id)
    return world.desk.report_problem(cs.id, "audio gracchiante").id


def test_a_close_raced_from_several_connections_is_done_once(world: World) -> None:
    ticket = reported(world)

    def close(i: int) -> Ticket:
        with world.sessions() as s:
            return close_ticket(s, world.brand.id, ticket, f"supervisor {i}", world.clock.now())

    outcomes = race(close)
    assert sum(isinstance(o, Ticket) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, (Ticket, Conflict)) for o in outcomes), outcomes
    with world.sessions() as s:
        closes = [e for e in entries(s, world.brand.id) if e.action == "ticket.close"]
        assert len(closes) == 1
        report = s.get(ProblemReport, ticket)
        assert report is not None and report.status == "closed" and report.closed_by == closes[0].actor


def test_answers_raced_with_a_close_never_land_on_the_closed_ticket(world: World) -> None:
    ticket = reported(world)

    def act(i: int) -> Ticket:
        with world.sessions() as s:
            if i == 0:
                return close_ticket(s, world.brand.id, ticket, "boss", world.clock.now())
            return answer_ticket(s, world.brand.id, ticket, f"risposta {i}", f"agent {i}", world.clock.now())

    outcomes = race(act)
    assert isinstance(outcomes[0], Ticket)
    assert all(isinstance(o, (Ticket, Conflict)) for o in outcomes), outcomes
    with world.sessions() as s:
        log = [e for e in entries(s, world.brand.id) if e.action.startswith("ticket.")]
        # every answer the log records came before the close, and the last one is the ticket's
        assert log[-1].action == "ticket.close"
        answers = [e.actor for e in log if e.action == "ticket.answer"]
        assert len(answers) == sum(isinstance(o, Ticket) for o in outcomes[1:]) <= RACERS - 1
        report = s.get(ProblemReport, ticket)
        assert report is not None and report.status == "closed"
        assert report.answered_by == (answers[-1] if answers else None)
        total, listed = list_tickets(s, world.brand.id, TicketFilter(status="closed"))
        assert total == 1 and listed[0].id == ticket
