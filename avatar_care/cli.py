"""The ``avatar-care`` command line: one sub-command per module in ``avatar_care.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from pydantic import ValidationError

from avatar_care.core.config import describe_errors

# Each module defines ``register(subparsers)``; ``register`` sets ``func`` on its parser, a callable
# taking the parsed arguments and returning the exit code.
COMMAND_MODULES = (
    "avatar_care.commands.retarget",
    "avatar_care.commands.capture",
    "avatar_care.commands.serve",
    "avatar_care.commands.avatar",
    "avatar_care.commands.brand",
    "avatar_care.commands.demo",
    "avatar_care.commands.worker",
)


class _CommandModule(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar-care",
        description="Customer care in the metaverse: human operators drive 3D avatars in real time.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        cast(_CommandModule, importlib.import_module(name)).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic narrates every migration step at INFO; a start-up that changes nothing should be quiet.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code = args.func(args)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # a malformed setting stops start-up before anything listens, naming the setting
        print(f"avatar-care: not started, a setting is wrong:\n{describe_errors(exc)}", file=sys.stderr)
        return 2
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
