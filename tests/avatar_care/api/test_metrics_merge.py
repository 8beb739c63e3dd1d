"""Merging processes' figures: one family per name with a ``process`` label on each sample; a
process whose text does not parse, or that gives a name another type, is left out alone."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from avatar_care.metrics.exposition import exposition, merged, queue_families
from rooms.desk.queue_figures import BrandQueue

A = """# HELP avatar_care_customers customers receiving motion, per room
# TYPE avatar_care_customers gauge
avatar_care_customers{room="r1"} 2
# HELP avatar_care_http_requests_total HTTP requests
# TYPE avatar_care_http_requests_total counter
avatar_care_http_requests_total{method="GET",route="/api/health",status="200"} 5
"""
B = A.replace('room="r1"} 2', 'room="r2"} 1').replace("} 5", "} 7")


def parsed(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_each_process_keeps_its_series_under_its_label_in_one_family() -> None:
    text = exposition(merged({"h:1": A, "h:2": B}))
    assert text.count("# TYPE avatar_care_customers gauge") == 1
    assert text.count("# TYPE avatar_care_http_requests_total counter") == 1
    got = parsed(text)
    assert got["avatar_care_customers", frozenset({"room": "r1", "process": "h:1"}.items())] == 2
    assert got["avatar_care_customers", frozenset({"room": "r2", "process": "h:2"}.items())] == 1
    health = {"method": "GET", "route": "/api/health", "status": "200"}
    assert got["avatar_care_http_requests_total", frozenset((health | {"process": "h:1"}).items())] == 5
    assert got["avatar_care_http_requests_total", frozenset((health | {"process": "h:2"}).items())] == 7


def test_a_process_whose_figures_do_not_parse_is_left_out_alone() -> None:
    for bad in ("avatar_care_customers{room=r1 2\n", '# TYPE x counter\nx{a="1"} not-a-number\n', "\x00\xff"):
        got = parsed(exposition(merged({"h:1": A, "h:bad": bad, "h:2": B})))
        processes = {dict(labels).get("process") for _, labels in got}
        assert processes == {"h:1", "h:2"}, bad


def test_a_name_given_another_type_by_one_process_is_left_out_for_that_process() -> None:
    other = A.replace("# TYPE avatar_care_customers gauge", "# TYPE avatar_care_customers counter")
    got = parsed(exposition(merged({"h:1": A, "h:2": other})))
    customers = {dict(labels)["process"] for name, labels in got if name == "avatar_care_customers"}
    assert customers == {"h:1"}
    requests = {dict(labels)["process"] for name, labels in got if name == "avatar_care_http_requests_total"}
    assert requests == {"h:1", "h:2"}


def test_queue_figures_per_brand_and_presence() -> None:
    brand = BrandQueue(waiting=3, offered=1, longest_wait_s=42.5, free_capacity=2, rooms=1, seats_taken=1)
    brand.operators.update({"available": 2, "busy": 1})
    got = parsed(exposition(queue_families({7: brand})))
    assert got["avatar_care_queue_waiting", frozenset({("brand", "7")})] == 3
    assert got["avatar_care_queue_longest_wait_seconds", frozenset({("brand", "7")})] == 42.5
    assert got["avatar_care_operators", frozenset({("brand", "7"), ("presence", "available")})] == 2
    assert got["avatar_care_operators", frozenset({("brand", "7"), ("presence", "away")})] == 0
