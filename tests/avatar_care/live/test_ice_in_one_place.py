"""Every ICE configuration comes from avatar_care/live/ice.py: no page and no server module builds one
of its own (an empty or hard-coded server list would leave customers behind NAT unconnected).

Pages: only web_client/room/signaling.js makes an RTCPeerConnection, from the configuration the
server hands out with ``joined``; no page mentions ``iceServers``. Server: only ice.py builds an
``RTCConfiguration`` or ``RTCIceServer`` or names ``iceServers``; every ``RTCPeerConnection(...)``
takes ``<ice>.for_server()``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVER = ROOT / "avatar_care"
PAGES = ROOT / "web_client"
ICE_MODULE = SERVER / "live" / "ice.py"
PEER_LINK = PAGES / "room" / "signaling.js"
BUILDERS = {"RTCConfiguration", "RTCIceServer"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def python_offences(source: str, where: str, allowed: bool = False) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in BUILDERS and not allowed:
                found.append(f"{line}: builds {name}")
            if name == "RTCPeerConnection":
                args = [*node.args, *(k.value for k in node.keywords)]
                ok = len(args) == 1 and isinstance(args[0], ast.Call) and _name(args[0].func) == "for_server"
                if not ok:
                    found.append(f"{line}: RTCPeerConnection without the configuration of live/ice.py")
        if not allowed and (
            (isinstance(node, ast.Constant) and node.value == "iceServers")
            or (isinstance(node, ast.keyword) and node.arg == "iceServers")
            or (isinstance(node, ast.Attribute) and node.attr == "iceServers")
        ):
            found.append(f"{line}: names iceServers")
    return found


PEER = re.compile(r"new\s+(?:window\.)?RTCPeerConnection\s*\(|\biceServers\b|\biceTransportPolicy\b")


def page_offences(source: str, where: str) -> list[str]:
    return [
        f"{where}:{source.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for m in PEER.finditer(source)
        # the peer link makes the pages' only RTCPeerConnection, from what the server handed out
        if not (where.endswith("room/signaling.js") and m.group(0).startswith("new"))
    ]


def test_the_detectors_catch_what_they_look_for() -> None:
    assert python_offences("pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))", "x.py") == [
        "x.py:1: RTCPeerConnection without the configuration of live/ice.py",
        "x.py:1: builds RTCConfiguration",
        "x.py:1: names iceServers",
    ]
    assert python_offences("pc = RTCPeerConnection()", "x.py")
    assert python_offences("c = {'iceServers': []}", "x.py")
    assert python_offences("pc = RTCPeerConnection(room.ice.for_server())", "x.py") == []
    assert page_offences("const pc = new RTCPeerConnection({ iceServers: [] });", "p.js")
    assert page_offences("const c = { iceTransportPolicy: 'relay' };", "p.js")
    assert page_offences("const pc = new RTCPeerConnection(msg.ice);", "web_client/room/signaling.js") == []


def test_no_server_module_builds_an_ice_configuration_of_its_own() -> None:
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        found += python_offences(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), path == ICE_MODULE
        )
    assert found == []


def test_no_page_builds_an_ice_configuration_of_its_own() -> None:
    pages = [
        p
        for p in sorted(PAGES.rglob("*"))
        # built bundles are made from the sources checked here
        if p.suffix in (".js", ".mjs", ".html")
        and not {"node_modules", "dist", "build"} & set(p.parts)
        and p.is_file()
    ]
    assert PEER_LINK in pages
    found = []
    for path in pages:
        found += page_offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []
    assert "new RTCPeerConnection(msg.ice)" in PEER_LINK.read_text(encoding="utf-8")
