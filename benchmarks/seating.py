"""Routing with seats and admission to live rooms, on a busy desk.

    python benchmarks/seating.py

1. ``Router.dispatch`` (the 1 s queue tick's routing) with many operators, running shared rooms
   with free seats and waiting customers across templates: the time of one tick's dispatch.
2. The signaling join's admission (``avatar_care.api.room_access.admit``) on SQLite: a customer's
   token, the room's operator, a supervisor with the grant. Prints medians; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.api.room_access import admit  # noqa: E402
from rooms.brands import create_brand  # noqa: E402
from rooms.clock import ManualClock  # noqa: E402
from rooms.db import make_engine, migrate, session_factory  # noqa: E402
from rooms.desk import CareDesk, Customer  # noqa: E402
from rooms.operators import OperatorSpec, create_operator, issue_token  # noqa: E402
from rooms.routing import Operator, Presence, Router, Waiting  # noqa: E402
from rooms.templates import TemplateSpec, create_template  # noqa: E402

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def busy_router(operators: int, waiting: int, templates: int) -> Router:
    """Every operator runs one room of 4 seats with 2 taken; customers wait across templates."""
    r = Router()
    for i in range(operators):
        r.add_operator(Operator(f"o{i}", 1, frozenset({"it"}), frozenset(), T0, Presence.AVAILABLE, 2))
    n = 0
    for i in range(operators):
        for _ in range(2):
            r.enqueue(Waiting(f"s{n}", 1, f"t{i % templates}", "it", frozenset(), T0, seats=4))
            r.offers.clear()
            offer = r.dispatch(T0)
            chosen = next(o for o in offer if o.session_id == f"s{n}")
            r.offers = {chosen.session_id: chosen}
            r.accept(f"s{n}", chosen.operator_id, T0)
            n += 1
    # customers nobody here can serve (English): every tick looks at all of them, the worst case
    for j in range(waiting):
        r.enqueue(Waiting(f"w{j}", 1, f"t{j % templates}", "en", frozenset(), T0 + timedelta(seconds=j)))
    return r


def dispatch_ms(operators: int, waiting: int, templates: int, repeats: int = 30) -> float:
    r = busy_router(operators, waiting, templates)
    times = []
    for _ in range(repeats):
        r.offers.clear()
        started = time.perf_counter()
        r.dispatch(T0)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def admission_ms(repeats: int = 200) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'care.sqlite3'}")
        migrate(engine)
        sessions = session_factory(engine)
        clock = ManualClock()
        with sessions() as s:
            brand, _ = create_brand(s, "Bench")
            template = create_template(
                s, brand, TemplateSpec(name="Room", languages=["it"], max_customers=4), "b"
            )
            anna = create_operator(s, brand, OperatorSpec("anna", "Anna", ["it"]), None, "b")
            boss = create_operator(
                s, brand, OperatorSpec("boss", "Boss", ["it"], role="supervisor"), None, "b"
            )
            anna_token = issue_token(s, anna, clock.now(), timedelta(days=1))
            boss_token = issue_token(s, boss, clock.now(), timedelta(days=1))
        desk = CareDesk(sessions, clock)
        desk.operator_changed(anna)
        desk.set_presence(anna.id, Presence.AVAILABLE)
        cs, access = desk.join(template, Customer("c", "it"))
        room_id = desk.accept(cs.id, anna.id).live_room_id
        assert room_id is not None
        desk.record_event(cs.id, "supervisor_listening", {"supervisor": boss.id})
        out = {}
        for role, token in (("customer", access), ("operator", anna_token), ("listener", boss_token)):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                admit(desk, room_id, role, token)  # type: ignore[arg-type]
                times.append((time.perf_counter() - started) * 1000)
            out[role] = statistics.median(times)
        engine.dispose()
        return out


def main() -> None:
    print("operators | running rooms | waiting | templates | dispatch median ms")
    for operators, waiting in ((20, 50), (100, 500), (400, 2000)):
        print(
            f"{operators:9} | {operators:13} | {waiting:7} | {10:9} | {dispatch_ms(operators, waiting, 10):.2f}"
        )
    print()
    print("signaling join admission on SQLite, median ms:")
    for role, ms in admission_ms().items():
        print(f"  {role:9} {ms:.2f}")


if __name__ == "__main__":
    main()
