"""Brand admins upload avatars: checked before acceptance, stored with a thumbnail, kept per brand."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.avatars.glb import read_glb, write_glb
from avatar_care.core.config import Settings
from rooms.audit import entries
from rooms.brands import create_brand
from tests.shared_data import shared

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "assets" / "avatars" / "Asian_F_1_Casual.vrm"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def brand_key(client: TestClient, name: str) -> str:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        return create_brand(s, name)[1]


def upload(client: TestClient, key: str | None, data: bytes, name: str = "Giulia") -> Any:
    headers = {"X-API-Key": key} if key else {}
    return client.post(
        "/api/avatars", headers=headers, files={"file": ("avatar.vrm", data)}, data={"name": name}
    )


def edited(change: Any) -> bytes:
    glb = read_glb(shared("avatars/Asian_F_1_Casual.glb").read_bytes())
    change(glb.gltf)
    return write_glb(glb)


def test_a_good_avatar_is_accepted_stored_and_thumbnailed(client: TestClient, settings: Settings) -> None:
    key = brand_key(client, "Ottica Rossi")
    r = upload(client, key, SHIPPED.read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == "vrm1" and "leftIndexDistal" in body["bones"] and "aa" in body["expressions"]
    stored = client.get(body["url"])
    assert stored.status_code == 200 and stored.content == SHIPPED.read_bytes()
    thumb = client.get(body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    assert [a["id"] for a in client.get("/api/avatars", headers={"X-API-Key": key}).json()] == [body["id"]]
    plain = upload(client, key, shared("avatars/Black_F_1_Casual.glb").read_bytes(), "Amara")
    assert plain.status_code == 201 and plain.json()["format"] == "glb"
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        actions = [e.action for e in entries(s, 1)]
    assert actions == ["brand.create", "avatar.upload", "avatar.upload"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: SHIPPED.read_bytes()[:-4096], "truncated"),
        (lambda: b"%PDF-1.7 definitely not an avatar" * 10, "not a glTF binary"),
        (
            lambda: edited(
                lambda g: [
                    n.update(name="x" + n["name"])
                    for n in g["nodes"]
                    if n.get("name") in ("LeftArm", "RightLeg")
                ]
            ),
            "leftUpperArm, ",
        ),
        (
            lambda: edited(lambda g: g["images"][1].update(uri="http://tracker.invalid/pixel.png")),
            "external file",
        ),
    ],
)
# Refused before anything is stored: one database is enough for these.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_broken_avatars_are_refused_with_their_reasons(client: TestClient, make: Any, reason: str) -> None:
    key = brand_key(client, "Ottica Rossi")
    r = upload(client, key, make())
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["message"] == "avatar refused"
    assert any(reason in p for p in detail["problems"]), detail


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_avatar_without_face_morphs_is_accepted_with_a_warning(client: TestClient) -> None:
    from tests.avatar_care.avatars.morphless import without_face_morphs

    key = brand_key(client, "Ottica Rossi")
    r = upload(client, key, without_face_morphs(SHIPPED.read_bytes()), "Still face")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == "vrm1" and "leftIndexDistal" in body["bones"]
    assert "aa" not in body["expressions"] and "blink" not in body["expressions"]
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith("no face morphs for aa, blink")
    assert body["missing_face_expressions"] == ["aa", "blink"]  # what the admin page words itself
    assert client.get(body["thumbnail_url"]).content.startswith(b"\x89PNG")
    # the listing says so too; an avatar with a face has no warning
    good = upload(client, key, SHIPPED.read_bytes()).json()
    assert good["warnings"] == [] and good["missing_face_expressions"] == []
    listed = {
        a["id"]: (a["warnings"], a["missing_face_expressions"])
        for a in client.get("/api/avatars", headers={"X-API-Key": key}).json()
    }
    assert listed == {body["id"]: (body["warnings"], ["aa", "blink"]), good["id"]: ([], [])}
    # and so does looking one up
    one = client.get(f"/api/avatars/{body['id']}", headers={"X-API-Key": key}).json()
    assert one["warnings"] == body["warnings"] and one["missing_face_expressions"] == ["aa", "blink"]


def test_who_may_upload_and_see(client: TestClient) -> None:
    a, b = brand_key(client, "A"), brand_key(client, "B")
    assert upload(client, None, SHIPPED.read_bytes()).status_code == 401
    assert upload(client, "acb_forged", SHIPPED.read_bytes()).status_code == 401
    mine = upload(client, a, SHIPPED.read_bytes()).json()["id"]
    assert client.get(f"/api/avatars/{mine}", headers={"X-API-Key": a}).status_code == 200
    other = client.get(f"/api/avatars/{mine}", headers={"X-API-Key": b})
    assert other.status_code == 404 and "no avatar" in other.json()["detail"]
    assert client.get("/api/avatars", headers={"X-API-Key": b}).json() == []


def test_uploads_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        key = brand_key(first, "Ottica Rossi")
        avatar_id = upload(first, key, SHIPPED.read_bytes()).json()["id"]
    with TestClient(create_app(settings)) as second:
        r = second.get(f"/api/avatars/{avatar_id}", headers={"X-API-Key": key})
        assert r.status_code == 200 and second.get(r.json()["url"]).status_code == 200
