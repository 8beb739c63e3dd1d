"""Schemathesis over the whole OpenAPI with valid credentials: no request gets a 5xx.

Every operation the schema lists gets ``EXAMPLES`` generated requests (schemathesis builds them from
the schema: valid ones and ones that break it), each sent with the brand's API key and a bearer
token (the customer's for ``/api/customer``, a supervisor's, who is an operator too, elsewhere).
The schema carries no links between operations, so the state is seeded instead: a brand with a
template, a catalogue item, an operator and a supervisor, a consultation under way and a customer
waiting; half of the generated path ids are replaced by these real ones, so requests reach past
"not found" into the routes' work.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import bearer, join_token, new_brand, operator

EXAMPLES = 10


@dataclass
class Seeded:
    app: FastAPI
    api_key: str
    supervisor: str
    customer: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(data_dir=tmp, queue_tick_s=3600))
    clock = ManualClock()
    app.state.desk.clock = clock
    with TestClient(app) as client:
        brand = new_brand(client, "Ottica Rossi", allow_anonymous=True)
        item = client.post("/api/catalogue", headers=brand.admin, json={
            "name": "Aria", "kind": "image", "media_url": "/x.png", "link": "https://shop.example/a"}).json()  # fmt: skip
        anna = operator(client, brand, "anna")
        boss = operator(client, brand, "boss", role="supervisor")
        talking = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
        client.post(f"/api/queue/{talking['session_id']}/accept", headers=bearer(anna))
        waiting = client.post(
            "/api/customer/join", json={"token": join_token(brand, clock, jti=uuid.uuid4().hex)}
        )
        operators = client.get("/api/operators", headers=brand.admin).json()
        ids = {
            "session_id": talking["session_id"], "template_id": brand.template_id, "item_id": item["id"],
            "operator_id": operators[0]["id"], "avatar_id": "none", "request_id": "1",
            "waiting_id": waiting.json()["session_id"],
        }  # fmt: skip
        yield Seeded(app, brand.key, boss, talking["access_token"], ids)
    app.state.engine.dispose()


def with_credentials(case: Any, seeded: Seeded) -> None:
    customer = case.path.startswith("/api/customer")
    case.headers = {
        **dict(case.headers or {}),
        "X-API-Key": seeded.api_key,
        "Authorization": f"Bearer {seeded.customer if customer else seeded.supervisor}",
    }
    for name, value in (case.path_parameters or {}).items():
        if name in seeded.ids and zlib.crc32(str(value).encode()) % 2 == 0:  # half the cases: a real id
            case.path_parameters[name] = seeded.ids[name]


REVOKING = (
    "/api/brand/api-key",
    "/api/brand/join-secret",
    "/api/operators/me/logout",
    "/api/operators/{operator_id}",
    "/api/operators/{operator_id}/disabled",
    "/api/sessions/{session_id}/end",
    "/api/customer/leave",
)


def revokes_credentials(operation: Any) -> bool:
    return str(operation.path) in REVOKING


def test_no_operation_answers_5xx(seeded: Seeded) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded.app)
    failures: list[str] = []
    calls = 0
    codes: dict[int, int] = {}
    # Operations that revoke the fuzzer's own credentials (a rotated key, a signed-out or removed
    # account, an ended consultation) go last: fuzzed like the others, after the rest has run.
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=revokes_credentials)
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            with_credentials(case, seeded)
            response = case.call()
            calls += 1
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                )

        run()
    assert calls > 10 * EXAMPLES
    # the credentials work: many requests get past authentication into the routes' work
    assert sum(n for code, n in codes.items() if code < 300) > calls // 4, codes
    assert not failures, "\n".join(failures[:20])
