"""Where the pages come from: a checkout's sources with their node_modules, or a built bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core import paths
from avatar_care.core.config import Settings


def _client(tmp_path: Path, web_client_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", web_client_dir=web_client_dir)))


def test_a_checkout_serves_its_sources_and_its_assets() -> None:
    assert paths.in_checkout()  # the tests run from one
    assert paths.default_web_client_dir() == paths.CHECKOUT_DIR / "web_client"
    assert paths.default_assets_dir() == paths.CHECKOUT_DIR / "assets"
    assert paths.default_data_dir() == paths.CHECKOUT_DIR / "data"
    sources = paths.default_web_client_dir()
    assert paths.vendor_dir(sources) == sources / "node_modules"


def test_a_bundle_serves_its_pages_and_its_own_vendor_files(tmp_path: Path) -> None:
    bundle = tmp_path / "web"
    (bundle / "room").mkdir(parents=True)
    (bundle / "room" / "customer.html").write_text("<!doctype html><title>room</title>")
    wasm = bundle / "vendor" / "@mediapipe" / "tasks-vision" / "wasm"
    wasm.mkdir(parents=True)
    (wasm / "vision.wasm").write_bytes(b"\0asm\1\0\0\0")
    with _client(tmp_path, bundle) as client:
        assert client.get("/app/room/customer.html").text.endswith("<title>room</title>")
        assert client.get("/vendor/@mediapipe/tasks-vision/wasm/vision.wasm").content == b"\0asm\1\0\0\0"
        # the checkout's node_modules is not what a bundle serves
        assert client.get("/vendor/three/build/three.module.js").status_code == 404


def test_an_installed_server_keeps_its_data_where_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_packages = tmp_path / "site-packages"
    monkeypatch.setattr(paths, "CHECKOUT_DIR", site_packages)  # no web_client/ beside the package
    monkeypatch.chdir(tmp_path)
    assert not paths.in_checkout()
    assert paths.default_web_client_dir() == paths.PAGES_BUNDLE
    assert paths.default_assets_dir() == paths.PACKAGE_DIR / "assets"
    assert paths.default_data_dir() == tmp_path / "data"
