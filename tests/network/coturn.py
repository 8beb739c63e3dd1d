"""Debian's coturn, started in the server's namespace on the shipped deploy/turnserver.conf (or
deploy/turnserver-443.conf: coturn on an address of its own with TURN over TLS on 443).

The package's own service is never used: this turnserver reads only the file written here (the
shipped one, as docs/deploy.md has a brand fill it in, with TURN REST API credentials on a shared
secret), keeps its database and pid file in the test's temporary folder, and is stopped on the way
out. The relay's own UDP ports stay closed in the customer's firewall: coturn sends from them to
the server's peers inside the server's network.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.network.netns import SERVER_IP, TURN_PORT, TURN_TLS_PORT, Network
from tests.tls_certificate import authority_and_server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@dataclass
class Coturn:
    net: Network
    folder: Path
    secret: str
    process: subprocess.Popen[bytes] | None = None
    #: the shipped file it runs on (deploy/), the address it listens on, its TURN over TLS port
    shipped: str = "turnserver.conf"
    address: str = SERVER_IP
    tls_port: int = TURN_TLS_PORT

    @property
    def certificate(self) -> Path:
        """The authority that signed the relay's certificate for its address (made by the test: an
        aiortc peer trusts it with ``SSL_CERT_FILE``, chromium through its NSS database)."""
        return self.folder / "authority.pem"

    @property
    def log(self) -> Path:
        return self.folder / "turnserver.log"

    def start(self) -> None:
        conf = self.folder / "turnserver.conf"
        if not self.certificate.exists():
            authority_and_server(self.folder, (self.address,))
        conf.write_text(config(self.folder, self.secret, self.shipped, self.address))
        with self.log.open("ab") as out:  # one log across restarts
            self.process = subprocess.Popen(
                self.net.command(
                    "server", "turnserver", "-c", str(conf), "--log-file", "stdout", priority=Network.TIMED
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not all(
            self.net.call_in("server", lambda p=port: _listening(self.address, p))
            for port in (TURN_PORT, self.tls_port)
        ):
            code = self.process.poll()
            assert code is None, f"turnserver exited ({code}):\n{self.log_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"turnserver not listening within 30 s:\n{self.log_text()[-3000:]}"
            )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, secret: str) -> None:
        """The same relay with another static-auth-secret (as when it is changed on coturn alone)."""
        self.stop()
        self.secret = secret
        self.start()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def udp_url(self) -> str:
        return f"turn:{self.address}:{TURN_PORT}?transport=udp"

    def tcp_url(self) -> str:
        return f"turn:{self.address}:{TURN_PORT}?transport=tcp"

    def tls_url(self) -> str:
        return f"turns:{self.address}:{self.tls_port}?transport=tcp"

    def settings(self) -> dict[str, str]:
        """avatar-care's settings for this relay (environment variables), as docs/deploy.md gives them."""
        return {
            "AVATAR_CARE_ICE_SERVERS": f"{self.udp_url()},{self.tcp_url()},{self.tls_url()}",
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


def config(folder: Path, secret: str, shipped: str = "turnserver.conf", address: str = SERVER_IP) -> str:
    """The shipped deploy/``shipped``, filled in for the server's namespace: avatar-care's address on
    the simulated internet, coturn's ``address`` (no 1:1 NAT in front of them here, so public and
    private are the same), this test's secret, the server certificate in ``folder``
    (:func:`authority_and_server`), the log on standard output, database and pid file in ``folder``."""
    text = (DEPLOY / shipped).read_text(encoding="utf-8")
    for placeholder, value in (
        ("<turn-private-ip>", address),
        ("<turn-public-ip>", address),
        ("<private-ip>", SERVER_IP),
        ("<public-ip>", SERVER_IP),
        ("<turn-secret>", secret),
        ("<tls-cert>", str(folder / "cert.pem")),
        ("<tls-key>", str(folder / "key.pem")),
    ):
        text = text.replace(placeholder, value)
    assert "<" not in text.replace("<=", ""), "a placeholder of deploy/turnserver.conf is not filled in"
    text = text.replace("log-file=syslog", "log-file=stdout")
    return text + f"\nuserdb={folder / 'turndb'}\npidfile={folder / 'turnserver.pid'}\n"


@contextlib.contextmanager
def running_coturn(
    net: Network,
    folder: Path,
    secret: str,
    shipped: str = "turnserver.conf",
    address: str = SERVER_IP,
    tls_port: int = TURN_TLS_PORT,
) -> Iterator[Coturn]:
    folder.mkdir(parents=True, exist_ok=True)
    turn = Coturn(net, folder, secret, shipped=shipped, address=address, tls_port=tls_port)
    try:
        turn.start()
        yield turn
    finally:
        turn.stop()


def _listening(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect((address, port))
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
