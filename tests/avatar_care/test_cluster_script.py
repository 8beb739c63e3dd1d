"""``scripts/cluster.sh`` starts a throwaway PostgreSQL and two nodes on it: both answer, each one's
``/metrics`` lists both processes, and Ctrl-C (SIGINT) stops the nodes and the database and deletes
the folder; bad arguments are refused before anything starts."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.postgres_cluster import server_bin_dir
from tests.support import drain, free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgresql
def test_the_cluster_script_starts_two_nodes_on_postgresql_and_stops_everything_on_ctrl_c() -> None:
    server_bin_dir()  # PostgreSQL's programs are there (else PostgresMissing says how to install them)
    port_a, port_b, pg_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [str(SCRIPT), "--ports", f"{port_a},{port_b}", "--pg-port", str(pg_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C is sent to the script alone, as a terminal would to its group
    )
    assert proc.stdout is not None
    lines = drain(proc.stdout)
    try:
        deadline = time.monotonic() + 180
        while not any(line.startswith("  logs:") for line in lines):
            assert proc.poll() is None, "cluster.sh stopped:\n" + "\n".join(lines)
            assert time.monotonic() < deadline, "cluster.sh printed no URLs within 180 s:\n" + "\n".join(
                lines
            )
            time.sleep(0.2)
        out = "\n".join(lines)
        assert (
            f"node A:     http://127.0.0.1:{port_a}/" in out
            and f"node B:     http://127.0.0.1:{port_b}/" in out
        )
        folder = Path(re.search(r"logs:\s+(\S+)/node-", out).group(1))  # type: ignore[union-attr]
        assert folder.is_dir()
        token = re.search(r"Bearer (\S+)'", out).group(1)  # type: ignore[union-attr]
        for port in (port_a, port_b):
            assert _answers(f"http://127.0.0.1:{port}/api/health")

        def both_listed() -> bool:
            text = httpx.get(
                f"http://127.0.0.1:{port_b}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5
            ).text
            return len(set(re.findall(r'process="([^"]+)"', text))) == 2

        deadline = time.monotonic() + 30
        while not both_listed():
            assert time.monotonic() < deadline, "node B's /metrics did not list both nodes within 30 s"
            time.sleep(0.5)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 130
        assert not folder.exists()
        for port in (port_a, port_b):
            assert not _answers(f"http://127.0.0.1:{port}/api/health")
        with pytest.raises(OSError):  # the database stopped too
            socket.create_connection(("127.0.0.1", pg_port), timeout=2).close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--ports", "8001"], "not a port: ''"),
        (["--ports", "8001,8001"], "two different ports"),
        (["--pg-port", "70000"], "not a port: '70000'"),
        (["--ports", "a,b"], "not a port: 'a'"),
        (["--nodes", "3"], "unknown argument --nodes"),
    ],
)
def test_the_cluster_script_refuses_bad_arguments_before_starting_anything(
    arguments: list[str], says: str
) -> None:
    result = subprocess.run(
        [str(SCRIPT), *arguments], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2 and says in result.stderr
    assert "avatar-care cluster" not in result.stdout
