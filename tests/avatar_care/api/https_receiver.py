"""A brand's checkout endpoint for the tests: a real HTTPS server on loopback with a certificate for
``localhost`` from a throwaway CA (trustme), recording what it receives."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import trustme


@dataclass
class Received:
    body: bytes
    signature: str
    host: str


@dataclass
class Receiver:
    url: str
    ca_file: str
    received: list[Received] = field(default_factory=list)


@contextmanager
def https_receiver(folder: Path, status: int = 202) -> Iterator[Receiver]:
    ca = trustme.CA()
    ca_file = folder / "webhook-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(Received(body, self.headers["X-Avatar-Care-Signature"], self.headers["Host"]))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"https://localhost:{server.server_address[1]}/cart", str(ca_file), received)
    finally:
        server.shutdown()
        server.server_close()
