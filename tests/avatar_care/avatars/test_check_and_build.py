"""Avatar files: the check a brand's upload must pass, and the VRM 1.0 build of the shipped ones."""

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avatar_care.avatars.check import check_avatar, image_size
from avatar_care.avatars.glb import Glb, GlbError, read_glb, write_glb
from avatar_care.avatars.humanoid_map import REQUIRED_BONES
from avatar_care.avatars.vrm_build import BuildError, Meta, _Skeleton, build_vrm
from tests.avatar_care.avatars.morphless import without_face_morphs
from tests.avatar_care.avatars.vrm0 import make_vrm0
from tests.shared_data import shared
from tests.support import run_cli

ROOT = Path(__file__).resolve().parents[3]
SOURCE = shared("avatars/Asian_F_1_Casual.glb")
META = Meta(
    name="Test",
    authors=("A. Author",),
    copyright="(c) test",
    license_url="https://opensource.org/licenses/MIT",
)


def source() -> bytes:
    return SOURCE.read_bytes()


def edited(change: Any) -> bytes:
    glb = read_glb(source())
    change(glb.gltf)
    return write_glb(glb)


def test_the_source_humanoid_is_accepted_and_mapped() -> None:
    report = check_avatar(source())
    assert report.accepted, report.problems
    assert report.format == "glb"
    assert set(REQUIRED_BONES) <= set(report.bones)
    assert report.bones["leftThumbMetacarpal"] == "LeftHandThumb1" and report.bones["chest"] == "Spine1"
    assert len(report.bones) == 54  # every finger and both eyes; no jaw bone in this rig
    for expression in ("aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "sad"):
        assert report.expressions.get(expression), expression


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: source()[:-1000], "truncated"),
        (lambda: b"PK\x03\x04 this is a zip file, not glTF at all" * 3, "does not start with 'glTF'"),
        (lambda: b"glTF", "header alone is 12"),
        (
            lambda: edited(
                lambda g: g["nodes"][
                    g["nodes"].index(next(n for n in g["nodes"] if n.get("name") == "LeftForeArm"))
                ].update(name="Elbow?")
            ),
            "leftLowerArm",
        ),
        (
            lambda: edited(lambda g: g["images"][0].update(uri="https://example.invalid/skin.webp")),
            "external file",
        ),
        (
            lambda: edited(lambda g: g["buffers"].append({"uri": "../../etc/passwd", "byteLength": 1})),
            "external file",
        ),
        (lambda: edited(lambda g: g["extensionsRequired"].append("KHR_draco_mesh_compression")), "KHR_draco"),
        (
            lambda: without_face_morphs(
                edited(
                    lambda g: [n.update(name="x" + n["name"]) for n in g["nodes"] if n.get("name") == "Head"]
                )
            ),
            "head",
        ),
    ],
)
def test_broken_files_are_refused_with_their_reason(make: Any, reason: str) -> None:
    report = check_avatar(make())
    assert not report.accepted
    assert any(reason in p for p in report.problems), report.problems


def test_a_huge_texture_is_refused() -> None:
    glb = read_glb(source())
    huge_png = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 16384, 16384) + b"\x08\x06\x00\x00\x00"
    )
    view = len(glb.gltf["bufferViews"])
    binary = glb.binary or b""
    glb.gltf["bufferViews"].append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(huge_png)})
    glb.gltf["images"].append({"bufferView": view, "mimeType": "image/png"})
    glb.binary = binary + huge_png
    glb.gltf["buffers"][0]["byteLength"] = len(glb.binary)
    report = check_avatar(write_glb(glb))
    assert any("16384x16384" in p for p in report.problems), report.problems


def test_too_large_a_file_is_refused() -> None:
    from avatar_care.avatars.check import Limits

    report = check_avatar(source(), Limits(max_bytes=1_000_000))
    assert report.problems and "too large" in report.problems[0]


def test_image_sizes_from_headers() -> None:
    glb = read_glb(source())
    views, binary = glb.gltf["bufferViews"], glb.binary or b""
    sizes = []
    for image in glb.gltf["images"]:
        v = views[image["bufferView"]]
        start = v.get("byteOffset", 0)
        sizes.append(image_size(binary[start : start + v["byteLength"]]))
    assert all(s is not None and min(s) >= 64 and max(s) <= 8192 for s in sizes), sizes
    assert image_size(b"not a picture") is None


def test_build_makes_a_vrm1_avatar_in_the_vrm_rest_pose() -> None:
    out, report = build_vrm(source(), META)
    glb = read_glb(out)
    vrm = glb.gltf["extensions"]["VRMC_vrm"]
    assert vrm["specVersion"] == "1.0" and "VRMC_vrm" in glb.gltf["extensionsUsed"]
    assert vrm["meta"]["authors"] == ["A. Author"] and vrm["meta"]["otherLicenseUrl"].endswith("MIT")
    assert len(vrm["humanoid"]["humanBones"]) == 54
    preset = vrm["expressions"]["preset"]
    assert {
        "aa",
        "ih",
        "ou",
        "ee",
        "oh",
        "blink",
        "blinkLeft",
        "blinkRight",
        "happy",
        "angry",
        "sad",
        "relaxed",
        "surprised",
    } <= set(preset)
    assert vrm["lookAt"]["type"] == "bone"
    assert glb.binary == read_glb(source()).binary  # meshes and textures untouched
    # rest pose: facing +Z, arms straight out along X, legs straight down
    sk = _Skeleton(glb.gltf)
    bones = {b: v["node"] for b, v in vrm["humanoid"]["humanBones"].items()}

    def direction(a: str, b: str) -> np.ndarray:
        d = sk.position(bones[b]) - sk.position(bones[a])
        return d / np.linalg.norm(d)

    for a, b, target in (
        ("leftUpperArm", "leftLowerArm", (1, 0, 0)),
        ("leftLowerArm", "leftHand", (1, 0, 0)),
        ("rightUpperArm", "rightLowerArm", (-1, 0, 0)),
        ("rightLowerArm", "rightHand", (-1, 0, 0)),
        ("leftUpperLeg", "leftLowerLeg", (0, -1, 0)),
        ("rightLowerLeg", "rightFoot", (0, -1, 0)),
    ):
        assert math.degrees(math.acos(float(direction(a, b) @ np.array(target)))) < 5.0, (a, b)
    assert (sk.position(bones["leftToes"]) - sk.position(bones["leftFoot"]))[2] > 0.05  # toes forward: +Z
    assert report.corrections  # the source's arms hang a little: they were straightened
    assert check_avatar(out).format == "vrm1" and check_avatar(out).accepted


def test_build_turns_a_model_that_faces_backwards() -> None:
    def face_back(g: dict[str, Any]) -> None:
        for root in g["scenes"][0]["nodes"]:
            node = g["nodes"][root]
            node["rotation"] = _half_turn(np.array(node.get("rotation", [0, 0, 0, 1.0])))

    out, report = build_vrm(edited(face_back), META)
    assert any("face +Z" in c for c in report.corrections)
    sk = _Skeleton(read_glb(out).gltf)
    bones = {
        b: v["node"]
        for b, v in read_glb(out).gltf["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"].items()
    }
    assert sk.position(bones["leftHand"])[0] > 0.4


def _half_turn(q: np.ndarray) -> list[float]:
    from rigging.quaternion import multiply

    return [float(v) for v in multiply(np.array([0.0, 1.0, 0.0, 0.0]), q)]


def test_build_refuses_what_the_check_refuses() -> None:
    with pytest.raises(BuildError, match="truncated"):
        build_vrm(source()[:5000], META)


def test_glb_round_trip_and_errors() -> None:
    glb = read_glb(source())
    again = read_glb(write_glb(glb))
    assert again.gltf == glb.gltf and again.binary == glb.binary
    with pytest.raises(GlbError, match="version"):
        read_glb(b"glTF" + struct.pack("<II", 1, 12))
    with pytest.raises(GlbError, match="JSON"):
        read_glb(write_glb(Glb(gltf={}, binary=None)).replace(b"{}", b"{["))


def test_shipped_avatars_are_the_build_of_the_shared_ones() -> None:
    for name in ("Asian_F_1_Casual", "Black_F_1_Casual"):
        shipped = (ROOT / "assets" / "avatars" / f"{name}.vrm").read_bytes()
        assert check_avatar(shipped).accepted and check_avatar(shipped).format == "vrm1"
        meta = json.dumps(read_glb(shipped).gltf["extensions"]["VRMC_vrm"]["meta"])
        assert "Tiffany Do" in meta and "MIT" in meta


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good = run_cli("avatar", "check", str(ROOT / "assets" / "avatars" / "Asian_F_1_Casual.vrm"))
    assert good.returncode == 0 and "format vrm1" in good.stdout and "accepted" in good.stdout
    assert "leftIndexProximal=LeftHandIndex1" in good.stdout
    bad_file = tmp_path / "bad.glb"
    bad_file.write_bytes(edited(lambda g: g["images"][0].update(uri="http://x/y.png")))
    bad = run_cli("avatar", "check", str(bad_file))
    assert bad.returncode == 1 and "refused: images[0] refers to an external file" in bad.stdout
    missing = run_cli("avatar", "check", str(tmp_path / "none.vrm"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_vrm0_avatar_is_recognized() -> None:
    from tests.avatar_care.avatars.vrm0 import make_vrm0

    report = check_avatar(make_vrm0(source()))
    assert report.accepted, report.problems
    assert report.format == "vrm0"
    assert (
        report.bones["leftThumbMetacarpal"] == "LeftHandThumb1"
    )  # 0.x "thumbProximal" read as 1.0 metacarpal


FACE_WARNING = "no face morphs for aa, blink"


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        (
            "vrm1",
            lambda: without_face_morphs((ROOT / "assets" / "avatars" / "Asian_F_1_Casual.vrm").read_bytes()),
        ),
        ("vrm0", lambda: make_vrm0(without_face_morphs(source()))),
        ("glb", lambda: without_face_morphs(source())),
        (
            "glb",
            lambda: edited(lambda g: [m.get("extras", {}).pop("targetNames", None) for m in g["meshes"]]),
        ),
    ],
)
def test_a_humanoid_without_face_morphs_is_accepted_with_a_warning(kind: str, make: Any) -> None:
    data = make()
    assert b"targetNames" not in data or kind == "vrm1"  # (the VRM keeps other meshes' names)
    report = check_avatar(data)
    assert report.accepted, report.problems
    assert report.format == kind
    assert set(REQUIRED_BONES) <= set(report.bones)
    assert not any(report.expressions.get(e) for e in ("aa", "blink"))
    assert len(report.warnings) == 1 and report.warnings[0].startswith(FACE_WARNING), report.warnings
    assert "will not move" in report.warnings[0] and "will not blink" in report.warnings[0]


def test_a_face_with_a_mouth_but_no_blink_is_warned_of_the_blink_only() -> None:
    def drop_blinks(g: dict[str, Any]) -> None:
        for m in g["meshes"]:
            names = m.get("extras", {}).get("targetNames")
            if names:
                m["extras"]["targetNames"] = [n.replace("eyeClose", "eyeShut") for n in names]

    report = check_avatar(edited(drop_blinks))
    assert report.accepted and report.expressions.get("aa")
    assert [w.split(":")[0] for w in report.warnings] == ["no face morphs for blink"], report.warnings
    assert check_avatar(source()).warnings == []


def test_check_command_warns_of_a_still_face(tmp_path: Path) -> None:
    path = tmp_path / "still.vrm"
    path.write_bytes(without_face_morphs((ROOT / "assets" / "avatars" / "Asian_F_1_Casual.vrm").read_bytes()))
    result = run_cli("avatar", "check", str(path))
    assert result.returncode == 0, result.stdout
    assert f"warning: {FACE_WARNING}" in result.stdout and "accepted" in result.stdout
    assert "refused" not in result.stdout
