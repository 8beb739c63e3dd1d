"""Posting to a brand's own server (the checkout webhook) without letting its URL reach inside.

The URL must be https. Its host is resolved when the webhook is sent, and every address it resolves
to must be public: loopback, private, link-local, shared, multicast, reserved and unspecified addresses
are refused, unless inside a network the server's operator allowed (``webhook_allowed_networks``).
The connection then goes to the address that was checked, never resolved again, so a name whose
answer changes between the check and the connect (DNS rebinding) cannot send it elsewhere; the host
name stays in TLS (SNI, certificate check) and in the Host header. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import certifi
import httpx

from rooms.catalogue import CartNotSent

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebhookRefused(CartNotSent):
    """The webhook was not sent; the message says why (for the brand's admin and the log)."""


@dataclass(frozen=True)
class WebhookPolicy:
    allowed_networks: tuple[IPNetwork, ...] = ()
    #: CA bundle to verify the brand's certificate with; empty: certifi's roots
    ca_file: str = ""

    @classmethod
    def from_settings(cls, networks: list[str], ca_file: str) -> WebhookPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), ca_file)

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast


def url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL as written (checked when the admin sets it), or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"not a URL: {exc}"
    if parsed.scheme != "https":
        return "a webhook URL must be https"
    if not parsed.host:
        return "a webhook URL needs a host"
    if parsed.userinfo:
        return "a webhook URL may not carry a user name or password"
    return None


def checked_address(host: str, port: int, policy: WebhookPolicy) -> str:
    """The first address ``host`` resolves to, once every one of them is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(f"{host} does not resolve: {exc.strerror or exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not policy.permits(address):
            raise WebhookRefused(f"{host} resolves to {address}, which is not a public address")
    return addresses[0]


def post(
    url: str, body: bytes, headers: Mapping[str, str], policy: WebhookPolicy, timeout_s: float
) -> httpx.Response:
    problem = url_problem(url)
    if problem is not None:
        raise WebhookRefused(problem)
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 443
    address = checked_address(host, port, policy)
    context = ssl.create_default_context(cafile=policy.ca_file or certifi.where())
    host_header = host if parsed.port in (None, 443) else f"{host}:{port}"
    with httpx.Client(verify=context, timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        try:
            return client.post(
                parsed.copy_with(host=address),
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": host},
            )
        except httpx.HTTPError as exc:
            raise WebhookRefused(f"{host} did not answer: {type(exc).__name__}: {exc}") from None
