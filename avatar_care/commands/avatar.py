"""``avatar-care avatar check`` and ``avatar-care avatar build``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("avatar", help="check or build avatar files (VRM 0.x/1.0, GLB humanoids)")
    sub = p.add_subparsers(dest="avatar_command", required=True, metavar="ACTION")
    c = sub.add_parser(
        "check",
        help="say whether a brand could use this avatar, and why not",
        description="Prints the format, the humanoid bones and expressions found, and exits 0 when the file "
        "would be accepted (with a warning for what it will not do, such as a face without morphs); prints "
        "each reason and exits 1 when it would be refused.",
    )
    c.add_argument("file", type=Path)
    c.set_defaults(func=run_check)
    b = sub.add_parser("build", help="make a VRM 1.0 avatar from a humanoid GLB (Mixamo-style skeleton)")
    b.add_argument("source", type=Path)
    b.add_argument("output", type=Path)
    b.add_argument("--name", required=True, help="the avatar's name in its VRM meta")
    b.add_argument("--author", action="append", required=True, help="an author (repeat for several)")
    b.add_argument("--copyright", required=True, help="copyright notice")
    b.add_argument("--license-url", required=True, help="URL of the model's own licence")
    b.set_defaults(func=run_build)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"avatar-care: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


def run_check(args: argparse.Namespace) -> int:
    from avatar_care.avatars.check import check_avatar

    data = _read(args.file)
    if data is None:
        return 1
    report = check_avatar(data)
    print(f"{args.file}: format {report.format}, {report.size_bytes:,} bytes")
    print(
        f"bones mapped ({len(report.bones)}): "
        + ", ".join(f"{b}={n}" for b, n in sorted(report.bones.items()))
    )
    print(
        f"expressions mapped ({len(report.expressions)}): "
        + ", ".join(f"{e} ({n} binds)" for e, n in sorted(report.expressions.items()))
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    if report.accepted:
        print("accepted")
        return 0
    for problem in report.problems:
        print(f"refused: {problem}")
    return 1


def run_build(args: argparse.Namespace) -> int:
    from avatar_care.avatars.vrm_build import BuildError, Meta, build_vrm

    data = _read(args.source)
    if data is None:
        return 1
    meta = Meta(
        name=args.name, authors=tuple(args.author), copyright=args.copyright, license_url=args.license_url
    )
    try:
        out, report = build_vrm(data, meta)
    except BuildError as exc:
        print(f"avatar-care: {args.source}: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(out)
    fixes = "; ".join(report.corrections) or "rest pose already VRM 1.0"
    print(f"wrote {args.output}: {report.bones} bones, expressions {', '.join(report.expressions)}; {fixes}")
    return 0
