from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rooms.hours import BusinessHours, HoursError
from rooms.wait import WaitEstimator

ROME = BusinessHours.parse(
    "Europe/Rome",
    {d: ["09:00-13:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": ["09:00-12:30"]},
    closed_dates=["2026-12-25"],
)


def test_open_in_rome_seen_from_other_time_zones() -> None:
    # Tuesday 24 November 2026: 09:30 in Rome is 08:30 UTC and 03:30 in New York.
    assert ROME.is_open(datetime(2026, 11, 24, 8, 30, tzinfo=UTC))
    assert ROME.is_open(datetime(2026, 11, 24, 3, 30, tzinfo=ZoneInfo("America/New_York")))
    assert not ROME.is_open(datetime(2026, 11, 24, 12, 30, tzinfo=UTC))  # 13:30 in Rome: lunch
    assert not ROME.is_open(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))  # 18:00 in Rome: closed
    assert not ROME.is_open(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))  # Sunday


def test_daylight_saving_is_the_zone_databases_business() -> None:
    # 09:30 in Rome is 07:30 UTC in summer (CEST) and 08:30 UTC in winter (CET).
    assert ROME.is_open(datetime(2026, 7, 7, 7, 30, tzinfo=UTC))
    assert not ROME.is_open(datetime(2026, 12, 1, 7, 30, tzinfo=UTC))


def test_closed_dates_and_next_opening() -> None:
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    assert not ROME.is_open(christmas)
    nxt = ROME.next_open(christmas)
    assert nxt is not None and nxt.astimezone(ZoneInfo("Europe/Rome")) == datetime(
        2026, 12, 26, 9, 0, tzinfo=ZoneInfo("Europe/Rome")
    )  # Saturday morning
    lunch = datetime(2026, 11, 24, 13, 15, tzinfo=ZoneInfo("Europe/Rome"))
    assert ROME.next_open(lunch) == datetime(2026, 11, 24, 14, 0, tzinfo=ZoneInfo("Europe/Rome"))
    open_now = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    assert ROME.next_open(open_now) == open_now


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Mars/Olympus", {}), "time zone"),
        (("Europe/Rome", {"funday": ["09:00-10:00"]}), "weekday"),
        (("Europe/Rome", {"mon": ["18:00-09:00"]}), "open before it closes"),
        (("Europe/Rome", {"mon": ["nine to five"]}), "HH:MM-HH:MM"),
    ],
)
def test_bad_schedules_are_refused(args: tuple[str, dict[str, list[str]]], message: str) -> None:
    with pytest.raises(HoursError, match=message):
        BusinessHours.parse(*args)
    with pytest.raises(HoursError, match="aware"):
        ROME.is_open(datetime(2026, 1, 1, 10, 0))
    _ = (date, time, timedelta)


def test_wait_estimate_from_recent_handle_times() -> None:
    w = WaitEstimator(default_handle_s=120)
    assert w.estimate_s("shop", position=1, operators_at_work=1) == 120  # no history: the default
    for s in (200, 300, 400):
        w.record_handle_time("shop", s)
    assert w.average_handle_s("shop") == 300
    assert w.estimate_s("shop", position=3, operators_at_work=2) == 600  # two rounds of service
    assert w.estimate_s("shop", position=1, operators_at_work=0) is None  # nobody at work: unknown
    assert w.average_handle_s("other") == 120  # per template
