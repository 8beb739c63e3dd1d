import os
import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from avatar_care.app import create_app
from avatar_care.core.config import Settings

PROCESS = f"{socket.gethostname()[:40]}:{os.getpid()}"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text by name and labels (the text must parse)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_show_the_demo_rooms_motion_in_prometheus_text(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, metrics_token="m3tr1cs"), demo=True)) as client:
        time.sleep(0.5)  # the demo operator plays about 15 frames
        text = client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs"}).text
    demo = {"room": "demo", "process": PROCESS}
    got = samples(text)
    assert got["avatar_care_motion_frames_total", frozenset(demo.items())] >= 5
    assert "# TYPE avatar_care_motion_frames_total counter" in text
    assert "# TYPE avatar_care_motion_packets_filled_total counter" in text
    assert ("avatar_care_hop_ms", frozenset((demo | {"hop": "solve", "quantile": "0.95"}).items())) in got
    assert got["avatar_care_customers", frozenset(demo.items())] == 0
    # no server capture in the demo room: its figures are there, at zero
    assert got["avatar_care_capture_frames_total", frozenset((demo | {"outcome": "dropped"}).items())] == 0
    assert got["avatar_care_capture_worker_crashes_total", frozenset(demo.items())] == 0


def test_metrics_count_http_requests_by_route_template_and_show_the_queue(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, metrics_token="m3tr1cs"))) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/sessions/no-such-session-1").status_code == 401
        assert client.get("/api/sessions/no-such-session-2").status_code == 401
        assert client.get("/no/such/path").status_code == 404
        client.request("BREW", "/api/health")
        assert client.get("/app/common/i18n.js").status_code == 200
        text = client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs"}).text
    got = samples(text)
    health = {"method": "GET", "route": "/api/health", "status": "200", "process": PROCESS}
    assert got["avatar_care_http_requests_total", frozenset(health.items())] == 2
    timed = {"method": "GET", "route": "/api/health", "process": PROCESS}
    assert got["avatar_care_http_request_seconds_count", frozenset(timed.items())] == 2
    routes = {dict(labels)["route"] for name, labels in got if name == "avatar_care_http_requests_total"}
    # the template, never the path: ids in paths would make a series per customer
    assert not any("no-such" in route or "no/such" in route for route in routes), routes
    assert "(unmatched)" in routes and "(static)" in routes
    methods = {dict(labels)["method"] for name, labels in got if name == "avatar_care_http_requests_total"}
    assert "BREW" not in methods and "other" in methods
    refused = {"method": "GET", "route": "/api/sessions/{session_id}", "status": "401", "process": PROCESS}
    assert got["avatar_care_http_requests_total", frozenset(refused.items())] == 2
    assert "# TYPE avatar_care_queue_waiting gauge" in text and "# TYPE avatar_care_operators gauge" in text
