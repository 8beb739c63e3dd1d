"""Which passwords a person may choose, after NIST SP 800-63B (section 5.1.1.2): at least 8 characters,
at most 128 (long passphrases welcome, no composition rules), not one of the passwords most often found
in leaks (``data/common-passwords.txt.gz``, credited in ``data/CREDITS.md``) and not the login itself.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("rooms").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def password_problem(password: str, login: str) -> str | None:
    """Why this password may not be chosen, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password holds at most {MAX_LENGTH} characters"
    if password.casefold() == login.casefold():
        return "a password may not be the login"
    if password.casefold() in common_passwords():
        return "this password is among the most common ones found in leaks; choose another"
    return None
