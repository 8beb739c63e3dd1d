"""The shape of an uploaded glTF's JSON, checked before anything reads it.

An upload's JSON comes from anyone with a brand key: every part the checker, the thumbnail and the
build read is checked here for its type, its indices for range, numbers for finiteness and the node
hierarchy for being a forest (no node with two parents, no cycle), so the code after it may index
and loop without guarding each access. Each problem names the part (``nodes[3].children[0]``).
"""

from __future__ import annotations

import math
from typing import Any, Final

#: More problems than this are summed up: a hostile file could otherwise make a very long report.
MAX_PROBLEMS: Final = 20
#: glTF indices and byte counts are unsigned 32-bit values.
MAX_UINT32: Final = 2**32 - 1


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{where} {what}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _index(p: _Problems, where: str, value: object, count: int) -> bool:
    if not _is_int(value):
        p.add(where, "must be an index (a whole number)")
        return False
    assert isinstance(value, int)
    if not 0 <= value < count:
        p.add(where, f"is {value}, outside 0..{count - 1}" if count else f"is {value}, but there are none")
        return False
    return True


def _numbers(p: _Problems, where: str, value: object, length: int) -> None:
    if not isinstance(value, list) or len(value) != length:
        p.add(where, f"must be a list of {length} numbers")
        return
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            p.add(where, f"must be a list of {length} finite numbers")
            return


def _objects(p: _Problems, parent: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """``parent[key]`` as a list of objects (missing: none); each non-object is a problem."""
    value = parent.get(key, [])
    if not isinstance(value, list):
        p.add(where, "must be a list")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append(item)
        else:
            p.add(f"{where}[{i}]", "must be an object")
            out.append({})
    return out


def _object(p: _Problems, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        p.add(where, "must be an object")
        return {}
    return value


def _strings(p: _Problems, parent: dict[str, Any], key: str, where: str) -> None:
    value = parent.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        p.add(where, "must be a list of strings")


def _nodes(p: _Problems, gltf: dict[str, Any], n_meshes: int) -> int:
    nodes = _objects(p, gltf, "nodes", "nodes")
    parent_of: dict[int, int] = {}
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if "name" in node and not isinstance(node["name"], str):
            p.add(f"{where}.name", "must be a string")
        if "mesh" in node:
            _index(p, f"{where}.mesh", node["mesh"], n_meshes)
        for key, length in (("translation", 3), ("rotation", 4), ("scale", 3), ("matrix", 16)):
            if key in node:
                _numbers(p, f"{where}.{key}", node[key], length)
        children = node.get("children", [])
        if not isinstance(children, list):
            p.add(f"{where}.children", "must be a list")
            continue
        for k, child in enumerate(children):
            if not _index(p, f"{where}.children[{k}]", child, len(nodes)):
                continue
            if child in parent_of or child == i:
                p.add(
                    f"{where}.children[{k}]", f"makes node {child} a child twice (the nodes must form trees)"
                )
            else:
                parent_of[child] = i
    # No cycles: walking up from any node must end at a root within len(nodes) steps.
    for start in parent_of:
        at, steps = start, 0
        while at in parent_of and steps <= len(nodes):
            at, steps = parent_of[at], steps + 1
        if steps > len(nodes):
            p.add(f"nodes[{start}]", "is its own ancestor (the nodes must form trees)")
            break
    return len(nodes)


def _meshes(p: _Problems, gltf: dict[str, Any]) -> int:
    meshes = _objects(p, gltf, "meshes", "meshes")
    for i, mesh in enumerate(meshes):
        where = f"meshes[{i}]"
        if "name" in mesh and not isinstance(mesh["name"], str):
            p.add(f"{where}.name", "must be a string")
        for k, prim in enumerate(_objects(p, mesh, "primitives", f"{where}.primitives")):
            _objects(p, prim, "targets", f"{where}.primitives[{k}].targets")
            _strings(p, _object(p, prim, "extras", f"{where}.primitives[{k}].extras"), "targetNames",
                     f"{where}.primitives[{k}].extras.targetNames")  # fmt: skip
        _strings(
            p, _object(p, mesh, "extras", f"{where}.extras"), "targetNames", f"{where}.extras.targetNames"
        )
    return len(meshes)


def _buffers_and_images(p: _Problems, gltf: dict[str, Any]) -> None:
    views = _objects(p, gltf, "bufferViews", "bufferViews")
    for i, view in enumerate(views):
        for key in ("byteOffset", "byteLength"):
            value = view.get(key, 0)
            if not _is_int(value) or not 0 <= value <= MAX_UINT32:
                p.add(f"bufferViews[{i}].{key}", "must be a whole number of bytes")
    for kind in ("buffers", "images"):
        for i, item in enumerate(_objects(p, gltf, kind, kind)):
            if "uri" in item and not isinstance(item["uri"], str):
                p.add(f"{kind}[{i}].uri", "must be a string")
            if kind == "images" and "bufferView" in item:
                _index(p, f"images[{i}].bufferView", item["bufferView"], len(views))


def _vrm1(p: _Problems, ext: dict[str, Any], n_nodes: int, n_meshes: int, n_images: int) -> None:
    vrm = _object(p, ext, "VRMC_vrm", "extensions.VRMC_vrm")
    bones = _object(
        p, _object(p, vrm, "humanoid", "VRMC_vrm.humanoid"), "humanBones", "VRMC_vrm.humanoid.humanBones"
    )
    for name, bone in bones.items():
        if not isinstance(bone, dict):
            p.add(f"VRMC_vrm.humanoid.humanBones.{name}", "must be an object")
        elif "node" in bone:
            _index(p, f"VRMC_vrm.humanoid.humanBones.{name}.node", bone["node"], n_nodes)
    presets = _object(
        p, _object(p, vrm, "expressions", "VRMC_vrm.expressions"), "preset", "VRMC_vrm.expressions.preset"
    )
    for name, expression in presets.items():
        where = f"VRMC_vrm.expressions.preset.{name}"
        if not isinstance(expression, dict):
            p.add(where, "must be an object")
            continue
        for k, bind in enumerate(_objects(p, expression, "morphTargetBinds", f"{where}.morphTargetBinds")):
            _index(p, f"{where}.morphTargetBinds[{k}].node", bind.get("node"), n_nodes)
    meta = _object(p, vrm, "meta", "VRMC_vrm.meta")
    if "thumbnailImage" in meta:
        _index(p, "VRMC_vrm.meta.thumbnailImage", meta["thumbnailImage"], n_images)


def _vrm0(p: _Problems, ext: dict[str, Any], n_nodes: int, n_meshes: int) -> None:
    vrm = _object(p, ext, "VRM", "extensions.VRM")
    humanoid = _object(p, vrm, "humanoid", "VRM.humanoid")
    for i, bone in enumerate(_objects(p, humanoid, "humanBones", "VRM.humanoid.humanBones")):
        if "bone" in bone and not isinstance(bone["bone"], str):
            p.add(f"VRM.humanoid.humanBones[{i}].bone", "must be a string")
        if "node" in bone:
            _index(p, f"VRM.humanoid.humanBones[{i}].node", bone["node"], n_nodes)
    master = _object(p, vrm, "blendShapeMaster", "VRM.blendShapeMaster")
    for i, group in enumerate(
        _objects(p, master, "blendShapeGroups", "VRM.blendShapeMaster.blendShapeGroups")
    ):
        where = f"VRM.blendShapeMaster.blendShapeGroups[{i}]"
        for key in ("name", "presetName"):
            if key in group and not isinstance(group[key], str):
                p.add(f"{where}.{key}", "must be a string")
        for k, bind in enumerate(_objects(p, group, "binds", f"{where}.binds")):
            _index(p, f"{where}.binds[{k}].mesh", bind.get("mesh"), n_meshes)
            index = bind.get("index")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_UINT32:
                p.add(f"{where}.binds[{k}].index", "must be a morph target's index")
            weight = bind.get("weight", 100)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
                p.add(f"{where}.binds[{k}].weight", "must be a finite number")


def shape_problems(gltf: dict[str, Any]) -> list[str]:
    """Everything wrong with the shape of the parts of ``gltf`` this project reads (empty: none)."""
    p = _Problems()
    asset = gltf.get("asset", {})
    if not isinstance(asset, dict):
        p.add("asset", "must be an object")
    _strings(p, gltf, "extensionsRequired", "extensionsRequired")
    _strings(p, gltf, "extensionsUsed", "extensionsUsed")
    n_meshes = _meshes(p, gltf)
    n_nodes = _nodes(p, gltf, n_meshes)
    _buffers_and_images(p, gltf)
    images = gltf.get("images", [])
    n_images = len(images) if isinstance(images, list) else 0
    ext = _object(p, gltf, "extensions", "extensions")
    if "VRMC_vrm" in ext:
        _vrm1(p, ext, n_nodes, n_meshes, n_images)
    if "VRM" in ext:
        _vrm0(p, ext, n_nodes, n_meshes)
    return p.items
