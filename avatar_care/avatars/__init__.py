"""Avatars: glTF binary files, the humanoid and expression maps, checks, and the VRM build."""
