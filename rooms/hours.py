"""Business hours of a room template, in the brand's own time zone.

A weekly schedule of opening intervals in local time (several a day, e.g. a lunch break) plus
closed dates. Times are compared in the template's zone, so daylight-saving changes and customers
in other zones are handled by the zone database, not by offsets kept by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(ValueError):
    """A schedule that does not make sense; the message names the day or interval."""


@dataclass(frozen=True)
class BusinessHours:
    zone: str
    #: weekday ("mon".."sun") -> opening intervals in local time, each (open, close), open < close
    weekly: dict[str, tuple[tuple[time, time], ...]]
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:  # a folder of the zone database ("Europe") is an OSError, not a zone
            ZoneInfo(self.zone)
        except (KeyError, ValueError, OSError) as exc:
            raise HoursError(f"unknown time zone {self.zone!r}") from exc
        for day, intervals in self.weekly.items():
            if day not in WEEKDAYS:
                raise HoursError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            for start, end in intervals:
                if not start < end:
                    raise HoursError(f"{day}: an interval must open before it closes ({start}-{end})")

    @classmethod
    def parse(
        cls, zone: str, weekly: dict[str, list[str]], closed_dates: list[str] | None = None
    ) -> BusinessHours:
        """From the plain form brands write: {"mon": ["09:00-13:00", "14:00-18:00"], ...}.

        The form comes from outside (a request's JSON, a stored template): every part's type is
        checked here, and anything else is an :class:`HoursError` naming the part."""
        if not isinstance(zone, str) or not zone:
            raise HoursError("zone must be the name of a time zone, e.g. Europe/Rome")
        if not isinstance(weekly, dict):
            raise HoursError('weekly must be an object, e.g. {"mon": ["09:00-13:00"]}')
        if closed_dates is not None and (
            not isinstance(closed_dates, list) or not all(isinstance(d, str) for d in closed_dates)
        ):
            raise HoursError("closed_dates must be a list of YYYY-MM-DD dates")
        parsed: dict[str, tuple[tuple[time, time], ...]] = {}
        for day, spans in weekly.items():
            if not isinstance(spans, list):
                raise HoursError(f"{day}: expected a list of HH:MM-HH:MM intervals")
            items = []
            for span in spans:
                if not isinstance(span, str):
                    raise HoursError(f"{day}: {span!r} is not HH:MM-HH:MM")
                try:
                    a, b = span.split("-")
                    items.append((time.fromisoformat(a.strip()), time.fromisoformat(b.strip())))
                except ValueError:
                    raise HoursError(f"{day}: {span!r} is not HH:MM-HH:MM") from None
            parsed[day] = tuple(items)
        try:
            closed = frozenset(date.fromisoformat(d) for d in closed_dates or [])
        except ValueError as exc:
            raise HoursError(f"closed dates must be YYYY-MM-DD: {exc}") from None
        return cls(zone=zone, weekly=parsed, closed_dates=closed)

    def is_open(self, at: datetime) -> bool:
        """Whether the room is open at the aware instant ``at``."""
        if at.tzinfo is None:
            raise HoursError("is_open needs an aware datetime (with a time zone)")
        local = at.astimezone(ZoneInfo(self.zone))
        if local.date() in self.closed_dates:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.weekly.get(WEEKDAYS[local.weekday()], ()))

    def next_open(self, at: datetime, horizon_days: int = 14) -> datetime | None:
        """The next instant at or after ``at`` when the room is open, or None within the horizon."""
        if self.is_open(at):
            return at
        tz = ZoneInfo(self.zone)
        local = at.astimezone(tz)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.closed_dates:
                continue
            for start, _ in sorted(self.weekly.get(WEEKDAYS[day.weekday()], ())):
                candidate = datetime.combine(day, start, tzinfo=tz)
                if candidate >= local:
                    return candidate.astimezone(at.tzinfo)
        return None
