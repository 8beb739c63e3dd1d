"""``avatar-care brand create``: a new brand and its admin API key."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("brand", help="manage brands on this server")
    sub = p.add_subparsers(dest="brand_command", required=True, metavar="ACTION")
    c = sub.add_parser("create", help="create a brand and print its admin API key (shown only once)")
    c.add_argument("name")
    c.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    from avatar_care.core.config import get_settings
    from avatar_care.core.db import open_database
    from rooms.brands import create_brand

    _, sessions = open_database(get_settings())
    with sessions() as session:
        brand, key = create_brand(session, args.name)
    print(f"brand {brand.id}: {brand.name}")
    print(f"api key: {key}")
    print("keep the key: only its hash is stored, it cannot be shown again")
    return 0
