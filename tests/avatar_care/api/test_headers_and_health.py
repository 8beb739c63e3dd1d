"""Security headers on every answer, frame-ancestors from the setting, HSTS only under https;
``/api/health`` alive and ``/api/ready`` only while the database answers at the newest schema."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from rooms.db import downgrade

PAGES = ("/app/customer/index.html", "/app/room/customer.html", "/app/operator/index.html", "/app/admin/index.html",
         "/app/console/index.html")  # fmt: skip


def test_every_answer_carries_the_headers(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        for path in (*PAGES, "/api/health", "/api/templates", "/api/nothing-here", "/openapi.json"):
            r = client.get(path)
            assert r.headers["X-Content-Type-Options"] == "nosniff", path
            assert r.headers["Referrer-Policy"] == "no-referrer", path
            csp = r.headers["Content-Security-Policy"]
            assert (
                "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
            ), csp
            assert "frame-ancestors 'none'" in csp, (path, csp)
            assert "Strict-Transport-Security" not in r.headers  # plain http: a browser ignores it anyway
        big = client.post(
            "/api/customer/chat", content=b"x" * (1024 * 1024), headers={"Content-Type": "application/json"}
        )
        assert big.status_code == 413 and big.headers["X-Content-Type-Options"] == "nosniff"


def test_frame_ancestors_lets_the_brands_site_embed_only_the_customer_pages(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, frame_ancestors="https://www.ottica.example https://shop.ottica.example"
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/app/customer/index.html", "/app/room/customer.html"):
            csp = client.get(path).headers["Content-Security-Policy"]
            assert "frame-ancestors https://www.ottica.example https://shop.ottica.example" in csp
            assert "X-Frame-Options" not in client.get(path).headers
        for path in ("/app/operator/index.html", "/app/admin/index.html", "/api/health"):
            r = client.get(path)
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Frame-Options"] == "DENY"


def test_hsts_when_the_request_came_over_https(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path)), base_url="https://testserver") as client:
        assert client.get("/api/health").headers["Strict-Transport-Security"].startswith("max-age=")


def test_health_and_ready(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get("/api/health").json() == {"status": "ok"}
        assert client.get("/api/ready").json() == {"status": "ready"}
        downgrade(app.state.engine, "0002")  # a schema behind the code: not ready to serve
        r = client.get("/api/ready")
        assert r.status_code == 503 and "schema" in r.json()["detail"]
        assert client.get("/api/health").status_code == 200  # alive all the same


def test_not_ready_while_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get("/api/ready").status_code == 200
        with app.state.engine.connect() as c:
            c.execute(text("SELECT 1"))
        (tmp_path / "avatar-care.sqlite3").unlink()
        (tmp_path / "avatar-care.sqlite3").mkdir()  # the file is gone and cannot be made again
        app.state.engine.dispose()
        r = client.get("/api/ready")
        assert r.status_code == 503 and "unreachable" in r.json()["detail"], r.text
