"""Debian's coturn on loopback, configured the way docs/deploy.md configures it (use-auth-secret)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port

TURNSERVER = "/usr/bin/turnserver"


@contextmanager
def running_coturn(work: Path, secret: str) -> Iterator[int]:
    """coturn on 127.0.0.1 with ``secret`` as its static-auth-secret; yields its port (UDP and TCP).

    Relaying to loopback peers is allowed here, as the server's peers are on loopback in tests."""
    assert shutil.which(TURNSERVER), (
        "Debian's coturn is needed: apt-get install coturn (scripts/setup.sh --dev)"
    )
    port = free_port()
    relay = free_port()
    log = (work / "coturn.log").open("w")
    proc = subprocess.Popen(
        [
            TURNSERVER,
            "-n",  # no configuration file: everything is on this line
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            f"--min-port={relay}",
            f"--max-port={relay + 20}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=avatar-care.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--allow-loopback-peers",
            f"--db={work / 'turndb'}",
            f"--pidfile={work / 'turnserver.pid'}",
            "--log-file=stdout",
            "--simple-log",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(proc, port, work / "coturn.log")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until coturn accepts TCP on ``port`` (its log in the failure if it exits or takes over 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "coturn did not listen within 20 s"
            time.sleep(0.1)
