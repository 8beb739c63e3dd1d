"""Humanoids without face morphs, as brands have them: every bone, no expression to move."""

from __future__ import annotations

from avatar_care.avatars.glb import read_glb, write_glb


def without_face_morphs(data: bytes) -> bytes:
    """The same GLB or VRM with every morph target, its names and weights, and every expression
    gone (the mesh and the skeleton untouched)."""
    glb = read_glb(data)
    gltf = glb.gltf
    for mesh in gltf.get("meshes", []):
        mesh.pop("weights", None)
        mesh.get("extras", {}).pop("targetNames", None)
        for primitive in mesh.get("primitives", []):
            primitive.pop("targets", None)
            primitive.get("extras", {}).pop("targetNames", None)
    ext = gltf.get("extensions", {})
    if "VRMC_vrm" in ext:
        ext["VRMC_vrm"].pop("expressions", None)
    if "VRM" in ext:
        ext["VRM"].get("blendShapeMaster", {})["blendShapeGroups"] = []
    return write_glb(glb)
