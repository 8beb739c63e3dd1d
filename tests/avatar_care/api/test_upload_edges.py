"""Uploads at the edges: malformed glTF refused with where, nothing left behind, size refused while streaming."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.avatars.glb import read_glb, write_glb
from avatar_care.core.config import Settings
from rooms.audit import entries
from rooms.brands import create_brand
from rooms.models import Avatar

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "assets" / "avatars" / "Asian_F_1_Casual.vrm"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def key(client: TestClient) -> str:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        return create_brand(s, "Ottica Rossi")[1]


def upload(client: TestClient, key: str | None, data: bytes) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return client.post(
        "/api/avatars", headers=headers, files={"file": ("a.vrm", data)}, data={"name": "Giulia"}
    )


def edited(change: Callable[[dict[str, Any]], None]) -> bytes:
    glb = read_glb(SHIPPED.read_bytes())
    change(glb.gltf)
    return write_glb(glb)


def nothing_left(client: TestClient, settings: Settings, key: str) -> None:
    """No file where the server serves avatars, none staged, no row, no audit entry of an upload."""
    served = settings.data_dir / "avatars"
    assert not any(served.iterdir()), list(served.iterdir())
    assert (
        not any((settings.data_dir / "incoming").glob("*"))
        if (settings.data_dir / "incoming").exists()
        else True
    )
    assert client.get("/api/avatars", headers={"X-API-Key": key}).json() == []
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        assert s.query(Avatar).count() == 0
        assert not [e for e in entries(s, 1) if e.action == "avatar.upload"]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets ``gltf[a][b]…`` (keys separated by '/', list indices as numbers)."""

    def change(gltf: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = gltf
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def _cycle(gltf: dict[str, Any]) -> None:
    gltf["nodes"][1].setdefault("children", []).append(0)
    gltf["nodes"][0].setdefault("children", []).append(1)


MALFORMED = {
    "nodes not a list": _set("nodes", {"0": {}}),
    "a node not an object": _set("nodes/0", 7),
    "children not a list": _set("nodes/0/children", 3),
    "a huge child index": _set("nodes/0/children", [2**40]),
    "a negative child index": _set("nodes/0/children", [-1]),
    "a name not a string": _set("nodes/0/name", ["hips"]),
    "a translation of strings": _set("nodes/0/translation", ["a", "b", "c"]),
    "a mesh index out of range": _set("nodes/0/mesh", 10**12),
    "a cycle of nodes": _cycle,
    "extensions a list": _set("extensions", []),
    "humanBones a list": _set("extensions/VRMC_vrm/humanoid/humanBones", [1, 2]),
    "a bone node out of range": _set("extensions/VRMC_vrm/humanoid/humanBones/hips", {"node": 10**15}),
    "a bone node a string": _set("extensions/VRMC_vrm/humanoid/humanBones/hips", {"node": "0"}),
    "expressions a string": _set("extensions/VRMC_vrm/expressions", "aa"),
    "a preset not an object": _set("extensions/VRMC_vrm/expressions/preset/aa", 1),
    "meshes[0] extras a list": _set("meshes/0/extras", [1]),
    "target names not strings": _set("meshes/0/extras", {"targetNames": [1, 2]}),
    "bufferViews of numbers": _set("bufferViews", [1, 2, 3]),
    "a byteOffset a string": _set("bufferViews/0/byteOffset", "0"),
    "images[0] uri a number": _set("images/0/uri", 5),
    "extensionsRequired a string": _set("extensionsRequired", "VRMC_vrm"),
    "a thumbnail index huge": _set("extensions/VRMC_vrm/meta/thumbnailImage", 2**62),
    "asset a list": _set("asset", []),
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_malformed_gltf_json_is_refused_with_where_and_leaves_nothing(
    client: TestClient, settings: Settings, key: str, what: str
) -> None:
    r = upload(client, key, edited(MALFORMED[what]))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["problems"], r.text
    nothing_left(client, settings, key)


def _glb_with_json(text: bytes) -> bytes:
    text += b" " * (-len(text) % 4)
    chunk = struct.pack("<II", len(text), 0x4E4F534A) + text
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunk)) + chunk


@pytest.mark.parametrize(
    "text",
    [b"[" * 200_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"nodes": [{"translation": [NaN, 0, 0]}]}'],
    ids=["deep list", "deep object", "NaN"],
)
def test_deeply_nested_or_non_json_numbers_are_refused(client: TestClient, key: str, text: bytes) -> None:
    r = upload(client, key, _glb_with_json(text))
    assert r.status_code == 422, r.text


def _fake_thumbnail(gltf: dict[str, Any], binary: bytearray) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 64, 64) + b"not a picture at all" * 10
    offset = len(binary)
    binary.extend(picture)
    gltf["bufferViews"].append({"buffer": 0, "byteOffset": offset, "byteLength": len(picture)})
    gltf["images"].append({"bufferView": len(gltf["bufferViews"]) - 1, "mimeType": "image/png"})
    gltf["extensions"]["VRMC_vrm"]["meta"]["thumbnailImage"] = len(gltf["images"]) - 1
    gltf["buffers"][0]["byteLength"] = len(binary)


def test_a_thumbnail_that_is_not_a_picture_is_refused(
    client: TestClient, settings: Settings, key: str
) -> None:
    glb = read_glb(SHIPPED.read_bytes())
    binary = bytearray(glb.binary or b"")
    _fake_thumbnail(glb.gltf, binary)
    glb.binary = bytes(binary)
    r = upload(client, key, write_glb(glb))
    assert r.status_code == 422 and "thumbnail" in r.text, r.text
    nothing_left(client, settings, key)


def test_an_upload_that_fails_before_its_row_is_committed_leaves_nothing(
    client: TestClient, settings: Settings, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import avatar_care.api.routes.avatars as route

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(route, "add_avatar", crash)
    assert upload(client, key, SHIPPED.read_bytes()).status_code == 500
    nothing_left(client, settings, key)
    monkeypatch.undo()
    ok = upload(client, key, SHIPPED.read_bytes())
    assert ok.status_code == 201 and client.get(ok.json()["url"]).content == SHIPPED.read_bytes()


def test_a_body_over_the_routes_limit_is_refused_before_authentication(client: TestClient) -> None:
    junk = b"\0" * (41 * 1024 * 1024)
    declared = client.post("/api/avatars", content=junk, headers={"Content-Type": "application/octet-stream"})
    assert declared.status_code == 413 and "larger" in declared.json()["detail"]

    sent = 0

    def stream() -> Iterator[bytes]:  # no Content-Length: chunked, so the limit must be counted
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b"\0" * (1024 * 1024)

    chunked = client.post(
        "/api/avatars", content=stream(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert chunked.status_code == 413, chunked.text
    small = client.post(
        "/api/customer/chat", content=b"x" * (300 * 1024), headers={"Content-Type": "application/json"}
    )
    assert small.status_code == 413
    chunked_small = client.post("/api/templates", content=iter([b"{" + b" " * 1024] * 400))
    assert chunked_small.status_code == 413
