"""A throwaway PostgreSQL cluster for the test run: Debian's initdb and pg_ctl in a temporary folder.

One cluster per test session, listening on a free port on 127.0.0.1 only, with a fresh database per
test (``CREATE DATABASE``, then ``DROP DATABASE ... WITH (FORCE)``). Durability is switched off
(fsync, synchronous commit, full-page writes): the cluster is thrown away at the end, and the tests
check behaviour, not crash safety. Its time zone is deliberately not UTC, so a stored instant read
back without ``as_utc`` or a naive datetime written to a ``timestamptz`` column shows up as a shift.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support import free_port

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the database tests run on PostgreSQL too and need its server programs (initdb, pg_ctl): "
    "apt-get install postgresql (scripts/setup.sh --dev installs it)"
)
#: root may not run initdb; as root the cluster runs as the system user Debian's package creates
SYSTEM_USER = "postgres"
SUPERUSER = "avatar_care"
#: an offset of 5:30 makes any instant read or written in the server's local time stand out
SERVER_TIME_ZONE = "Asia/Kolkata"


class PostgresMissing(RuntimeError):
    pass


def server_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin (Debian's layout), else initdb on the PATH."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
    )
    for bin_dir in reversed(candidates):
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PostgresMissing(f"PostgreSQL is not installed: {INSTALL_HINT}")


def _run_as() -> list[str]:
    """The command prefix that runs the server programs as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresMissing(
            f"running as root, the cluster needs the {SYSTEM_USER!r} system user: {INSTALL_HINT}"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresMissing("running as root, the cluster needs runuser (util-linux) to drop privileges")
    return [runuser, "-u", SYSTEM_USER, "--"]


class PostgresCluster:
    def __init__(self) -> None:
        self.bin_dir = server_bin_dir()
        self.prefix = _run_as()
        # As root, under /tmp: a TMPDIR in root's home would be out of the server user's reach.
        self.root = Path(tempfile.mkdtemp(prefix="avatar-care-pg-", dir="/tmp" if self.prefix else None))
        if self.prefix:
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.data = self.root / "data"
        self.port = 0

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*self.prefix, str(self.bin_dir / program), *args]
        # The cluster's own folder as working directory: the unprivileged user may not enter the checkout's.
        result = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{tail}".strip()
            )
        return result

    def start(self) -> None:
        self._pg(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth=trust",  # a throwaway cluster, reachable on loopback only, gone after the run
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        for attempt in range(3):  # the free port may be taken by someone else before the server binds
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.root}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    f"-c timezone={SERVER_TIME_ZONE}",
                    "-c max_connections=200",
                ]
            )
            log = str(self.root / "server.log")
            try:
                self._pg(
                    "pg_ctl",
                    "--pgdata",
                    str(self.data),
                    "--log",
                    log,
                    "--wait",
                    "--timeout=60",
                    "-o",
                    options,
                    "start",
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                logger.warning("PostgreSQL did not start on port %d, trying another", self.port)
        logger.info("test PostgreSQL %s on 127.0.0.1:%d", self.bin_dir.parent.name, self.port)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg("pg_ctl", "--pgdata", str(self.data), "--mode=immediate", "--wait", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for one test; dropped afterwards even if connections are left open."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
