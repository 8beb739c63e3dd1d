"""avatar-care in the server's namespace, and peers in theirs, as processes the tests start and stop."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.network.netns import SERVER_IP, WEB_PORT, Network

PORT = WEB_PORT
#: /metrics answers only with this bearer token (AVATAR_CARE_METRICS_TOKEN): the tests read room figures.
METRICS_TOKEN = "metrics-token-of-the-network-tests"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    process: subprocess.Popen[str]
    base: str
    lines: list[str]
    log: Path

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://", 1)

    def printed(self, prefix: str) -> str:
        """The URL the server printed after ``prefix`` (``customer:``, ``operator:``)."""
        return next(line.split(None, 1)[1] for line in self.lines if line.startswith(prefix))


@contextlib.contextmanager
def running_avatar_care(
    net: Network,
    data_dir: Path,
    env: dict[str, str],
    command: str = "demo",
    port: int = PORT,
    host: str = SERVER_IP,
    reached_at: str | None = None,
    probe_from: str = "operator",
) -> Iterator[Server]:
    """``avatar-care COMMAND --host HOST`` inside the server's namespace, until it answers at
    ``reached_at`` (default ``host``) from ``probe_from``'s namespace."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"avatar-care-{command}-{port}.log"
    full_env = (
        os.environ
        | {
            "AVATAR_CARE_DATA_DIR": str(data_dir),
            "AVATAR_CARE_DATABASE_URL": "",
            "AVATAR_CARE_METRICS_TOKEN": METRICS_TOKEN,
        }
        | env
    )
    with log.open("w") as err:
        process = subprocess.Popen(
            net.command(
                "server",
                sys.executable,
                "-m",
                "avatar_care.cli",
                command,
                "--host",
                host,
                "--port",
                str(port),
                priority=Network.TIMED,
            ),
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    server = Server(process, f"http://{reached_at or host}:{port}", [], log)
    assert process.stdout is not None
    threading.Thread(target=_collect, args=(process.stdout, server.lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while not net.call_in(probe_from, lambda: _healthy(server.base)):
            assert process.poll() is None, f"avatar-care {command} exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"avatar-care {command} not answering within 120 s"
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _collect(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line.strip())


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def joined(url: str, join: dict[str, Any]) -> dict[str, Any]:
    """Joins a room through signaling and leaves: the server's ``joined`` message (run it inside a
    namespace that reaches the server)."""
    from websockets.sync.client import connect

    with connect(url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "join", **join}))
        reply = json.loads(ws.recv(timeout=30))
    assert reply["type"] == "joined", reply
    return dict(reply)


@dataclass
class Peer:
    """A peer process (tests/network/peers.py) and the JSON events it printed."""

    process: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def wait_for(self, event: str, timeout_s: float) -> dict[str, Any]:
        return self.wait_for_nth(event, 1, timeout_s)

    def wait_for_nth(self, event: str, n: int, timeout_s: float) -> dict[str, Any]:
        """The ``n``-th ``event`` (from 1), waiting for it."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [e for e in self.events if e["event"] == event]
            if len(found) >= n:
                return found[n - 1]
            failed = [e for e in self.events if e["event"] == "failed"]
            assert not failed, f"the peer failed: {failed[0]['reason']}\n{self.tail()}"
            assert self.process.poll() is None, f"the peer exited before {event!r} #{n}\n{self.tail()}"
            assert time.monotonic() < deadline, f"no {event!r} #{n} within {timeout_s} s\n{self.tail()}"
            time.sleep(0.05)

    def summary(self, timeout_s: float) -> dict[str, Any]:
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the peer did not finish within {timeout_s} s\n{self.tail()}") from None
        time.sleep(0.1)  # the reader threads take the last lines
        found = [e for e in self.events if e["event"] == "summary"]
        assert found, f"the peer printed no summary ({self.process.returncode})\n{self.tail()}"
        return found[-1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self) -> str:
        return "\n".join(self.stderr[-30:])


def start_peer(net: Network, role: str, *args: str, env: dict[str, str] | None = None) -> Peer:
    """``python -m tests.network.peers ARGS`` inside ``role``'s namespace (``env`` added to its
    environment)."""
    process = subprocess.Popen(
        net.command(role, sys.executable, "-m", "tests.network.peers", *args, priority=Network.TIMED),
        cwd=ROOT,
        env=os.environ | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peer = Peer(process)
    assert process.stdout is not None and process.stderr is not None
    threading.Thread(target=_events, args=(process.stdout, peer.events), daemon=True).start()
    threading.Thread(target=_collect, args=(process.stderr, peer.stderr), daemon=True).start()
    return peer


def run_browser(
    net: Network, url: str, expect: str, seconds: float = 5.0, home: Path | None = None, *extra: str
) -> dict[str, Any]:
    """The customer page in chromium inside the customer's namespace (tests/network/browser_customer.py);
    ``home`` is chromium's ``HOME`` (its NSS database: ``browser_customer.trusting_home``)."""
    done = subprocess.run(
        net.command(
            "customer",
            sys.executable,
            "-m",
            "tests.network.browser_customer",
            url,
            expect,
            "--seconds",
            str(seconds),
            "--metrics-token",
            METRICS_TOKEN,
            *extra,
            priority=Network.TIMED,
        ),
        cwd=ROOT,
        env=os.environ | ({"HOME": str(home)} if home is not None else {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the browser printed nothing ({done.returncode}):\n{done.stderr[-3000:]}"
    result = dict(json.loads(lines[-1]))
    assert "error" not in result, f"{result['error']}\n{done.stderr[-3000:]}"
    return result


def _events(stream: Any, into: list[dict[str, Any]]) -> None:
    for line in stream:
        with contextlib.suppress(json.JSONDecodeError):
            into.append(json.loads(line))
