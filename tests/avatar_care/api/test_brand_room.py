"""The brand's room as configured: a template's scene, colour, logo and greeting reach the customer's
session; logos are uploads redrawn as small PNGs and served by this server, bad ones refused with the
reason and nothing kept; the catalogue's products are changed and removed by the brand admin only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from avatar_care.logos import MAX_UPLOAD_BYTES, SERVED_SIDE
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator

LOOK = {"scene": "lounge", "brand_color": "#C0392B", "greeting": "Benvenuti da Ottica Rossi!"}


@pytest.fixture
def brand(client: TestClient) -> BrandSetup:
    return new_brand(client, "Ottica Rossi", **LOOK)


def picture(kind: str, size: tuple[int, int] = (800, 400), colour: str = "#c0392b") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=kind)
    return out.getvalue()


def put_logo(client: TestClient, brand: BrandSetup, data: bytes, name: str = "logo.png") -> Any:
    return client.put(
        f"/api/templates/{brand.template_id}/logo", files={"file": (name, data)}, headers=brand.admin
    )


def logos(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "logos").iterdir())


def test_the_templates_look_reaches_the_customers_session(
    client: TestClient, brand: BrandSetup, clock: ManualClock, tmp_path: Path
) -> None:
    tpl = client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()
    assert (tpl["scene"], tpl["brand_color"], tpl["greeting"], tpl["logo_url"]) == (
        "lounge",
        "#c0392b",  # stored as written by the colour input: lower case
        LOOK["greeting"],
        None,
    )
    r = put_logo(client, brand, picture("PNG"))
    assert r.status_code == 200, r.text
    logo_url = r.json()["logo_url"]
    assert logo_url.startswith("/media/logos/") and logo_url.endswith(".png")
    served = client.get(logo_url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "PNG" and max(image.size) == SERVED_SIDE and image.size == (512, 256)
        assert image.convert("RGB").getpixel((10, 10)) == (0xC0, 0x39, 0x2B)

    joined = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    customer = bearer(joined["access_token"])
    room = client.get("/api/customer/session", headers=customer).json()["room"]
    assert room == {
        "scene": "lounge",
        "brand_color": "#c0392b",
        "logo_url": logo_url,
        "greeting": LOOK["greeting"],
    }
    public = client.get(f"/api/templates/{brand.template_id}/public").json()
    assert (public["brand_color"], public["logo_url"], public["scene"]) == ("#c0392b", logo_url, "lounge")

    # changing the room's other settings keeps its logo (the logo has its own route)
    body = {"name": "Occhiali", "languages": ["it"], "scene": "studio", "brand_color": "#112233"}
    r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    assert r.status_code == 200 and r.json()["logo_url"] == logo_url and r.json()["greeting"] == ""
    room = client.get("/api/customer/session", headers=customer).json()["room"]
    assert (room["scene"], room["brand_color"], room["logo_url"]) == ("studio", "#112233", logo_url)

    # a new logo replaces the old one, whose file goes; removing it leaves none
    second = put_logo(client, brand, picture("JPEG", (300, 300), "#112233"), "logo.jpg").json()["logo_url"]
    assert second != logo_url and client.get(logo_url).status_code == 404
    assert logos(tmp_path) == [second.rsplit("/", 1)[1]]
    assert client.get("/api/customer/session", headers=customer).json()["room"]["logo_url"] == second
    r = client.delete(f"/api/templates/{brand.template_id}/logo", headers=brand.admin)
    assert r.status_code == 200 and r.json()["logo_url"] is None
    assert logos(tmp_path) == [] and client.get(second).status_code == 404
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert actions.count("template.logo") == 2 and "template.logo_remove" in actions


BAD_LOOKS: list[tuple[str, object]] = [
    ("brand_color", "red"),
    ("brand_color", "#c0392"),
    ("brand_color", "#c0392bff"),
    ("brand_color", "c0392b"),
    ("brand_color", "#gg0000"),
    ("brand_color", "#c0392b\n"),
    ("brand_color", None),
    ("scene", "spaceship"),
    ("scene", ""),
    ("greeting", "x" * 501),
]


def test_a_bad_look_is_refused_and_the_room_unchanged(client: TestClient, brand: BrandSetup) -> None:
    for field, value in BAD_LOOKS:
        body = {"name": "Occhiali", "languages": ["it"], field: value}
        r = client.post("/api/templates", json=body, headers=brand.admin)
        assert r.status_code == 422, (field, value, r.text)
        assert field in r.text
        r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
        assert r.status_code == 422, (field, value, r.text)
    tpl = client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()
    assert (tpl["scene"], tpl["brand_color"], tpl["greeting"]) == ("lounge", "#c0392b", LOOK["greeting"])
    assert len(client.get("/api/templates", headers=brand.admin).json()) == 1


def test_a_bad_logo_is_refused_with_the_reason_and_nothing_kept(
    client: TestClient, brand: BrandSetup, tmp_path: Path
) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, format="GIF")
    huge_canvas = picture("PNG", (5000, 10))
    cases = [
        (b"", 422, "empty"),
        (b"\x89PNG\r\n\x1a\nnot really", 422, "not a picture"),
        (svg, 422, "not a picture"),
        (gif.getvalue(), 422, "PNG, JPEG or WebP"),
        (huge_canvas, 422, "4096 pixels"),
        (b"\0" * (MAX_UPLOAD_BYTES + 1), 413, "at most"),
    ]
    for data, code, reason in cases:
        r = put_logo(client, brand, data)
        assert r.status_code == code, (reason, r.text)
        assert reason in r.json()["detail"]
    incoming = tmp_path / "incoming"  # refused before anything is staged
    assert logos(tmp_path) == [] and (not incoming.exists() or list(incoming.iterdir()) == [])
    assert client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()["logo_url"] is None
    # another brand's room is as missing as none, and nobody else may upload
    other = new_brand(client, "Moda Bianchi")
    r = client.put(
        f"/api/templates/{other.template_id}/logo",
        files={"file": ("l.png", picture("PNG"))},
        headers=brand.admin,
    )
    assert r.status_code == 404
    assert (
        client.put(f"/api/templates/{brand.template_id}/logo", files={"file": ("l.png", b"")}).status_code
        == 401
    )
    assert client.delete(f"/api/templates/{other.template_id}/logo", headers=brand.admin).status_code == 404
    # a good one still goes through after all that, its transparency kept (a logo on the wall)
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    clear.paste((30, 158, 74, 255), (16, 16, 48, 48))
    out = io.BytesIO()
    clear.save(out, format="WEBP", lossless=True)
    r = put_logo(client, brand, out.getvalue())
    assert r.status_code == 200, r.text
    assert len(logos(tmp_path)) == 1
    with Image.open(io.BytesIO(client.get(r.json()["logo_url"]).content)) as served:
        assert served.mode == "RGBA" and served.getpixel((0, 0))[3] == 0
        assert served.getpixel((32, 32)) == (30, 158, 74, 255)


def test_the_brand_admin_changes_and_removes_products(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    item = {
        "name": "Montatura Aria",
        "kind": "image",
        "media_url": "/media/aria.png",
        "link": "https://shop.example/aria",
        "price": "120 EUR",
    }
    made = client.post("/api/catalogue", json=item, headers=brand.admin).json()
    changed = item | {"name": "Montatura Aria 2", "kind": "model", "price": "99 EUR"}
    r = client.put(f"/api/catalogue/{made['id']}", json=changed, headers=brand.admin)
    assert r.status_code == 200 and r.json() == changed | {"id": made["id"]}
    assert client.get("/api/catalogue", headers=brand.admin).json() == [changed | {"id": made["id"]}]

    # bad input and another brand: refused, the product unchanged
    other = new_brand(client, "Moda Bianchi")
    for body in (changed | {"kind": "video"}, changed | {"name": ""}, changed | {"price": "x" * 41}):
        assert client.put(f"/api/catalogue/{made['id']}", json=body, headers=brand.admin).status_code == 422
    assert client.put(f"/api/catalogue/{made['id']}", json=item, headers=other.admin).status_code == 404
    assert client.delete(f"/api/catalogue/{made['id']}", headers=other.admin).status_code == 404
    assert client.delete(f"/api/catalogue/{made['id']}").status_code == 401
    anna = operator(client, brand, "anna")
    assert client.delete(f"/api/catalogue/{made['id']}", headers=bearer(anna)).status_code in (401, 403)
    assert client.get("/api/catalogue", headers=brand.admin).json()[0]["name"] == "Montatura Aria 2"

    # shown and in a cart, then removed: it leaves the cart, the record of what was shown stays
    joined = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    sid, customer = joined["session_id"], bearer(joined["access_token"])
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(anna)).status_code == 200
    assert (
        client.post(
            f"/api/sessions/{sid}/show", json={"item_id": made["id"]}, headers=bearer(anna)
        ).status_code
        == 200
    )
    r = client.put(f"/api/sessions/{sid}/cart/{made['id']}", json={"quantity": 2}, headers=bearer(anna))
    assert r.status_code == 200 and len(r.json()) == 1
    assert client.delete(f"/api/catalogue/{made['id']}", headers=brand.admin).status_code == 204
    assert client.get("/api/catalogue", headers=brand.admin).json() == []
    view = client.get("/api/customer/session", headers=customer).json()
    assert view["cart"] == [] and view["shown"]["name"] == "Montatura Aria 2"
    assert client.delete(f"/api/catalogue/{made['id']}", headers=brand.admin).status_code == 404
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert {"catalogue.add", "catalogue.update", "catalogue.remove"} <= set(actions)
