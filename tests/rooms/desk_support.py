"""A care desk on a real database (SQLite or PostgreSQL, see ``database_url``) with a manual clock,
and a brand with one room template."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from rooms.brands import create_brand
from rooms.clock import ManualClock
from rooms.db import make_engine, migrate, session_factory
from rooms.desk import CareDesk
from rooms.models import Brand, OperatorAccount, RoomTemplate
from rooms.operators import OperatorSpec, create_operator
from rooms.routing import Presence
from rooms.templates import TemplateSpec, create_template


@dataclass
class World:
    sessions: sessionmaker[Session]
    clock: ManualClock
    desk: CareDesk
    brand: Brand
    template: RoomTemplate

    def operator(
        self,
        login: str,
        languages: list[str],
        skills: list[str] | None = None,
        available: bool = True,
        brand: Brand | None = None,
    ) -> OperatorAccount:
        with self.sessions() as s:
            account = create_operator(
                s,
                brand or self.brand,
                OperatorSpec(login, login.title(), languages, skills or []),
                None,
                "admin",
            )
        self.desk.operator_changed(account)
        if available:
            self.desk.set_presence(account.id, Presence.AVAILABLE)
        return account

    def restart(self) -> CareDesk:
        self.desk = CareDesk(self.sessions, self.clock)
        return self.desk


def make_world(database_url: str, **template: object) -> World:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    clock = ManualClock()
    with sessions() as s:
        brand, _ = create_brand(s, "Ottica Rossi")
        spec = TemplateSpec(name="Occhiali", languages=["it", "en"], skills=["optics"])
        for key, value in template.items():
            setattr(spec, key, value)
        tpl = create_template(s, brand, spec, "admin")
    return World(sessions, clock, CareDesk(sessions, clock), brand, tpl)
