"""Which host addresses WebRTC offers as ICE candidates.

aioice leaves the loopback address out of its host candidates, which is right on a network and
wrong for a server whose peers are all on the same machine (the tests, a one-machine demo).
:func:`use_loopback_only` makes 127.0.0.1 the only candidate (the tests and benchmarks call it).
"""

from __future__ import annotations

import logging

from aioice import ice

logger = logging.getLogger(__name__)
_original = ice.get_host_addresses


def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def use_loopback_only(enabled: bool = True) -> None:
    ice.get_host_addresses = _loopback if enabled else _original
    logger.info("ICE host candidates: %s", "loopback only" if enabled else "all interfaces")
