"""Two real servers on one PostgreSQL database: ``/metrics`` of either lists both processes'
figures (each labelled with its ``host:pid``) and the one queue's; a process that stops drops out."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.metrics.shared import FRESH_S
from rooms.brands import create_brand
from tests.avatar_care.test_two_processes import _token, eventually, server
from tests.postgres_cluster import PostgresCluster

TOKEN = "m3tr1cs-two-processes"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def figures(base: str) -> Samples:
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests(got: Samples, process: str, method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status, "process": process}
    return got.get(("avatar_care_http_requests_total", frozenset(labels.items())), 0.0)


def processes(got: Samples) -> set[str]:
    return {dict(labels)["process"] for _, labels in got if "process" in dict(labels)}


@pytest.mark.postgresql
def test_metrics_of_either_process_show_both_and_the_shared_queue(
    tmp_path: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVATAR_CARE_METRICS_TOKEN", TOKEN)
    host = socket.gethostname()[:40]
    with postgres_cluster.database() as url:
        engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=url))
        with sessions() as s:
            brand, key = create_brand(s, "Ottica Rossi")
        engine.dispose()
        admin = {"X-API-Key": key}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with server(tmp_path / "a", url, "a") as a, server(tmp_path / "b", url, "b") as b:
            pa, pb = f"{host}:{a.proc.pid}", f"{host}:{b.proc.pid}"
            secret = httpx.get(f"{a.base}/api/brand", headers=admin).json()["join_secret"]
            room = httpx.post(
                f"{a.base}/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
            ).json()
            operator = {
                "login": "anna",
                "name": "Anna",
                "languages": ["it"],
                "password": "correct horse battery",
            }
            assert httpx.post(f"{a.base}/api/operators", json=operator, headers=admin).status_code == 201
            token = httpx.post(
                f"{b.base}/api/operators/login",
                json={"brand_id": brand.id, "login": "anna", "password": "correct horse battery"},
            ).json()["token"]
            anna = {"Authorization": f"Bearer {token}"}
            # busy: present to routing, and nobody is offered, so the customers below stay waiting
            assert httpx.put(
                f"{b.base}/api/operators/me/presence", json={"presence": "busy"}, headers=anna
            ).is_success
            for n in range(2):  # two customers join through a, one through b
                joined = httpx.post(
                    f"{a.base}/api/customer/join",
                    json={"token": _token(brand.id, secret, room["id"], f"c{n}")},
                )
                assert joined.status_code == 201
            assert (
                httpx.post(
                    f"{b.base}/api/customer/join", json={"token": _token(brand.id, secret, room["id"], "c9")}
                ).status_code
                == 201
            )

            for base in (a.base, b.base):
                # within a publication or two, either process lists both processes' HTTP figures
                got = eventually(
                    lambda base=base: (
                        g
                        if requests(g := figures(base), pa, "POST", "/api/customer/join", "201") == 2
                        and requests(g, pb, "POST", "/api/customer/join", "201") == 1
                        and requests(g, pb, "PUT", "/api/operators/me/presence", "200") == 1
                        else None
                    ),
                    f"both processes' figures from {base}",
                )
                assert {pa, pb} <= processes(got)
                assert requests(got, pa, "PUT", "/api/operators/me/presence", "200") == 0
                # the queue is the desk's, the same from either process, without a process label
                brand_label = frozenset({("brand", str(brand.id))})
                assert got["avatar_care_queue_waiting", brand_label] == 3
                assert got["avatar_care_queue_offered", brand_label] == 0
                assert got["avatar_care_queue_longest_wait_seconds", brand_label] > 0
                busy = frozenset({("brand", str(brand.id)), ("presence", "busy")})
                assert got["avatar_care_operators", busy] == 1

            b.proc.kill()
            b.proc.wait()
            started = time.monotonic()
            eventually(lambda: pb not in processes(figures(a.base)), "b gone from a's figures")
            assert time.monotonic() - started < FRESH_S + 5
            assert pa in processes(figures(a.base))
