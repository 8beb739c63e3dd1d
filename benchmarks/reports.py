"""The brand's reports on a month of consultations: tickets, survey answers, figures, CSV files.

    python benchmarks/reports.py [SESSIONS] [DATABASE_URL]

Fills a new database (a SQLite file unless a URL is given) with SESSIONS ended consultations
(20,000 by default) spread over 30 days, 5 rooms and 20 operators; one in ten has a problem report,
three in ten a survey answer. Then times, medians of 7: a page of 50 tickets (no filter, and
filtered by status and room), every ticket as CSV, the period figures, the per-day figures and the
per-operator figures of the 30 days; and, for comparison, reading the sessions the way the figures
did before (whole records, the period kept in Python). Prints milliseconds; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from rooms.brands import create_brand  # noqa: E402
from rooms.csv_export import tickets_csv  # noqa: E402
from rooms.db import make_engine, migrate, session_factory  # noqa: E402
from rooms.figures import daily_figures, figures, operator_figures  # noqa: E402
from rooms.models import CareSession, OperatorAccount, ProblemReport, SurveyAnswer  # noqa: E402
from rooms.templates import TemplateSpec, create_template  # noqa: E402
from rooms.tickets import TicketFilter, all_tickets, list_tickets  # noqa: E402

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def whole_sessions(db: Session, brand_id: int, since: datetime, until: datetime) -> int:
    """How the figures read sessions before: every session of the brand as a whole record (its JSON
    context and skills too), the period kept in Python. For comparison, in the same run."""
    db.expunge_all()  # records already loaded would be handed back without reading them again
    rows = list(db.scalars(select(CareSession).where(CareSession.brand_id == brand_id)))
    return sum(1 for cs in rows if since <= cs.created_at < until)


def median_ms(work: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(tmp) / 'reports.sqlite3'}"
        engine = make_engine(url)
        migrate(engine)
        factory = session_factory(engine)
        with factory() as db:
            brand, _ = create_brand(db, "Ottica Rossi")
            rooms = [
                create_template(db, brand, TemplateSpec(f"Room {i}", ["it"]), "bench").id for i in range(5)
            ]
            people = [f"op{i:02d}" for i in range(20)]
            db.execute(
                insert(OperatorAccount),
                [
                    {
                        "id": p,
                        "brand_id": brand.id,
                        "login": p,
                        "name": p.title(),
                        "languages": ["it"],
                        "skills": [],
                    }
                    for p in people
                ],
            )
            rows, reports, answers = [], [], []
            for n in range(sessions):
                created = T0 + timedelta(seconds=n * 30 * 86400 // sessions)
                sid = f"s{n:08d}"
                rows.append(
                    {
                        "id": sid,
                        "brand_id": brand.id,
                        "template_id": rooms[n % 5],
                        "customer_ref": f"c{n}",
                        "customer_name": "Lucia",
                        "language": "it",
                        "skills": [],
                        "context": {},
                        "state": "ended",
                        "operator_id": people[n % 20],
                        "access_hash": f"{n:064d}",
                        "created_at": created,
                        "enqueued_at": created,
                        "connected_at": created + timedelta(seconds=n % 40),
                        "ended_at": created + timedelta(seconds=60 + n % 600),
                    }
                )
                if n % 10 == 0:
                    reports.append({"session_id": sid, "text": f"=problema {n}, audio", "at": created})
                if n % 10 < 3:
                    answers.append(
                        {
                            "session_id": sid,
                            "csat": 1 + n % 5,
                            "comment": "ok" if n % 2 else "",
                            "at": created,
                        }
                    )
            db.execute(insert(CareSession), rows)
            db.execute(insert(ProblemReport), reports)
            db.execute(insert(SurveyAnswer), answers)
            db.commit()

            since, until = T0, T0 + timedelta(days=30)
            open_room = TicketFilter(status="open", template_id=rooms[2])
            first = date(2026, 11, 1)
            last = date(2026, 11, 30)
            rome = ZoneInfo("Europe/Rome")
            results = {
                "tickets page of 50, no filter": median_ms(
                    lambda: list_tickets(db, brand.id, TicketFilter())
                ),
                "tickets page of 50, open in one room": median_ms(
                    lambda: list_tickets(db, brand.id, open_room)
                ),
                f"every ticket as CSV ({len(reports)})": median_ms(
                    lambda: tickets_csv(all_tickets(db, brand.id, TicketFilter()))
                ),
                "figures of the 30 days": median_ms(lambda: figures(db, brand.id, 0, since, until)),
                "(before: reading whole sessions alone)": median_ms(
                    lambda: whole_sessions(db, brand.id, since, until)
                ),
                "per-day figures, 30 days": median_ms(lambda: daily_figures(db, brand.id, first, last, rome)),
                "per-operator figures, 30 days": median_ms(
                    lambda: operator_figures(db, brand.id, since, until)
                ),
            }
        engine.dispose()
    print(
        f"{sessions} sessions, {len(reports)} tickets, {len(answers)} survey answers on {url.split(':')[0]}"
    )
    for name, ms in results.items():
        print(f"{name:40s} {ms:9.1f} ms")


if __name__ == "__main__":
    main()
