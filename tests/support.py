"""Helpers the tests share: running the command line, and a real server on a free loopback port."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``avatar-care ARGS`` as a user runs it, with its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    command: str,
    data_dir: Path,
    database_url: str = "",
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    tls_cert: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """``avatar-care COMMAND`` (serve or demo) on a free port; yields its base URL and first output line.

    ``database_url`` empty means the embedded SQLite file in ``data_dir``; ``args`` go on the command
    line, ``env`` into the environment; with ``tls_cert`` (the server's, self-signed) it is https."""
    port = free_port()
    env = (
        os.environ
        | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_DATABASE_URL": database_url}
        | (env or {})
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", command, "--host", "127.0.0.1", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first_line = proc.stdout.readline().strip()
    base = f"{'https' if tls_cert else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(tls_cert)) if tls_cert else True
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2, verify=verify)
                break
            except httpx.TransportError:
                assert proc.poll() is None, f"avatar-care {command} exited"
                assert time.monotonic() < deadline, f"avatar-care {command} did not come up within 60 s"
                time.sleep(0.2)
        yield base, first_line
    finally:
        proc.terminate()
        proc.wait(timeout=20)
