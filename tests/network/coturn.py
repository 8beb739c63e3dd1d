"""Debian's coturn, started in the server's namespace with a configuration of the test's own.

The package's own service is never used: this turnserver reads only the file written here (TURN
REST API credentials with a shared secret, as docs/deploy.md configures it), keeps its database
and pid file in the test's temporary folder, and is stopped on the way out.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.network.netns import SERVER_IP, TURN_PORT, Network

REALM = "avatar-care.test"
#: The relay's own UDP ports; the customer's firewall leaves them closed (coturn sends from them
#: to the server's peers inside the server's network).
RELAY_PORTS = (49152, 49999)


@dataclass
class Coturn:
    process: subprocess.Popen[bytes]
    log: Path
    secret: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def udp_url(self) -> str:
        return f"turn:{SERVER_IP}:{TURN_PORT}?transport=udp"

    def tcp_url(self) -> str:
        return f"turn:{SERVER_IP}:{TURN_PORT}?transport=tcp"

    def settings(self) -> dict[str, str]:
        """avatar-care's settings for this relay (environment variables), as docs/deploy.md gives them."""
        return {
            "AVATAR_CARE_ICE_SERVERS": f"{self.udp_url()},{self.tcp_url()}",
            "AVATAR_CARE_TURN_SECRET": self.secret,
        }

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """User and system CPU time the turnserver used so far (/proc/PID/stat, clock ticks)."""
        return process_cpu_seconds(self.pid)


def process_cpu_seconds(pid: int) -> float:
    import os

    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces: fields after it
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def config(folder: Path, secret: str) -> str:
    return "\n".join(
        [
            f"listening-ip={SERVER_IP}",
            f"relay-ip={SERVER_IP}",
            f"listening-port={TURN_PORT}",
            f"min-port={RELAY_PORTS[0]}",
            f"max-port={RELAY_PORTS[1]}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            "fingerprint",
            "no-tls",
            "no-dtls",
            "no-cli",
            "no-multicast-peers",
            "no-software-attribute",
            f"userdb={folder / 'turndb'}",
            f"pidfile={folder / 'turnserver.pid'}",
            "simple-log",
            "",
        ]
    )


@contextlib.contextmanager
def running_coturn(net: Network, folder: Path, secret: str) -> Iterator[Coturn]:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "turnserver.conf"
    conf.write_text(config(folder, secret))
    log = folder / "turnserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            net.command(
                "server", "turnserver", "-c", str(conf), "--log-file", "stdout", priority=Network.TIMED
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    turn = Coturn(process, log, secret)
    try:
        deadline = time.monotonic() + 30
        while not net.call_in("server", _listening):
            assert process.poll() is None, (
                f"turnserver exited ({process.returncode}):\n{turn.log_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, (
                f"turnserver not listening within 30 s:\n{turn.log_text()[-3000:]}"
            )
            time.sleep(0.1)
        yield turn
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _listening() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect((SERVER_IP, TURN_PORT))
        except OSError:
            return False
        return True


def try_allocation(username: str, password: str, transport: str = "udp") -> str:
    """Asks coturn for a relay allocation with these credentials, as a peer's ICE agent does:
    ``"allocated"``, or the error coturn answered (like ``"401 Unauthorized"``). Run it inside a
    namespace that reaches the server (``Network.call_in``)."""
    import asyncio

    from aioice import stun, turn

    async def attempt() -> str:
        try:
            transport_, _ = await asyncio.wait_for(
                turn.create_turn_endpoint(
                    asyncio.DatagramProtocol,
                    server_addr=(SERVER_IP, TURN_PORT),
                    username=username,
                    password=password,
                    transport=transport,
                ),
                20,
            )
        except stun.TransactionFailed as exc:
            code, reason = exc.response.attributes["ERROR-CODE"]
            return f"{code} {reason}"
        transport_.close()
        await asyncio.sleep(0.2)  # the allocation's deletion goes out
        return "allocated"

    return asyncio.run(attempt())
