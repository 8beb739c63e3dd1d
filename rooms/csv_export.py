"""CSV files of tickets, survey answers and figures, safe to open in a spreadsheet.

Quoting is the csv module's (RFC 4180: a field with a comma, a quote or a line break is quoted, a
quote inside doubled). Text a customer or anyone else wrote could hold a formula (``=HYPERLINK(…)``,
``@SUM(…)``) that a spreadsheet would run on opening; every text cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is written with a single quote in front, so it
is shown as text (the OWASP advice on CSV injection). Numbers the server computed are written as
numbers. The file starts with a UTF-8 byte order mark, by which spreadsheets tell UTF-8 from their
local code page (accented Italian text would otherwise be garbled).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Final

from rooms.clock import as_utc
from rooms.figures import DayFigures, OperatorFigures, PeriodFigures
from rooms.surveys import SurveyRow
from rooms.tickets import Ticket

#: What a spreadsheet may take as the start of a formula.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
BOM: Final = "\ufeff"

Cell = str | int | float | bool | date | datetime | None


def safe_cell(value: Cell) -> str | int | float:
    """A cell as written: text that could start a formula gets a leading single quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()


TICKET_HEADER: Final = (
    "ticket",
    "status",
    "reported_at",
    "text",
    "session",
    "room",
    "room_name",
    "operator",
    "operator_name",
    "customer_ref",
    "customer_name",
    "answer",
    "answered_by",
    "answered_at",
    "closed_by",
    "closed_at",
)


def tickets_csv(tickets: Iterable[Ticket]) -> str:
    return to_csv(
        TICKET_HEADER,
        (
            (
                t.id,
                t.status,
                t.reported_at,
                t.text,
                t.session_id,
                t.template_id,
                t.template_name,
                t.operator_id,
                t.operator_name,
                t.customer_ref,
                t.customer_name,
                t.answer,
                t.answered_by,
                t.answered_at,
                t.closed_by,
                t.closed_at,
            )
            for t in tickets
        ),
    )


SURVEY_HEADER: Final = (
    "session",
    "answered_at",
    "csat",
    "comment",
    "room",
    "room_name",
    "operator",
    "operator_name",
    "customer_name",
)


def surveys_csv(answers: Iterable[SurveyRow]) -> str:
    return to_csv(
        SURVEY_HEADER,
        (
            (
                a.session_id,
                a.answered_at,
                a.csat,
                a.comment,
                a.template_id,
                a.template_name,
                a.operator_id,
                a.operator_name,
                a.customer_name,
            )
            for a in answers
        ),
    )


def _figure_cells(f: PeriodFigures) -> tuple[Cell, ...]:
    return (
        f.sessions,
        f.answered,
        f.abandoned,
        f.average_speed_of_answer_s,
        f.service_level,
        f.abandonment_rate,
        f.average_handle_time_s,
        f.csat,
        f.csat_answers,
        f.average_after_call_s,
        wrap_up_cell(f.wrap_up_codes),
    )


def wrap_up_cell(codes: dict[str, int]) -> str:
    """The consultations per wrap-up code in one cell, ``code=n`` joined by "; " (most used first;
    the codes are the brand's own words, so the cell goes through ``safe_cell`` like any other)."""
    return "; ".join(f"{code}={n}" for code, n in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))


DAILY_HEADER: Final = (
    "day",
    "sessions",
    "answered",
    "abandoned",
    "average_speed_of_answer_s",
    "service_level",
    "abandonment_rate",
    "average_handle_time_s",
    "csat",
    "csat_answers",
    "average_after_call_s",
    "wrap_up_codes",
)


def daily_csv(days: Iterable[DayFigures]) -> str:
    return to_csv(DAILY_HEADER, ((d.day, *_figure_cells(d.figures)) for d in days))


OPERATOR_HEADER: Final = (
    "operator",
    "name",
    "login",
    "handled",
    "average_handle_time_s",
    "csat",
    "csat_answers",
    "average_after_call_s",
)


def operators_csv(rows: Iterable[OperatorFigures]) -> str:
    return to_csv(
        OPERATOR_HEADER,
        (
            (
                o.operator_id,
                o.name,
                o.login,
                o.handled,
                o.average_handle_time_s,
                o.csat,
                o.csat_answers,
                o.average_after_call_s,
            )
            for o in rows
        ),
    )
