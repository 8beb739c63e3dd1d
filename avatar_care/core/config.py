"""Server settings, from the environment (prefix ``AVATAR_CARE_``) or a ``.env`` file.

Every setting is checked when the settings are read: a malformed one stops start-up with a message
naming it (:func:`describe_errors`), so nothing starts half-configured.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from avatar_care.core.paths import default_assets_dir, default_data_dir, default_web_client_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "AVATAR_CARE_"

#: A STUN or TURN server's URL as browsers and aiortc both take it (RFC 7064, RFC 7065): a host
#: name or IPv4 address, an optional port, and for TURN an optional transport.
ICE_URL = re.compile(
    r"(?P<scheme>stun|turn|turns):(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:\?transport=(?P<transport>udp|tcp))?"
)


def parse_ice_url(url: str) -> str:
    """``url`` if it is a usable stun:, turn: or turns: URL, else ValueError saying why."""
    match = ICE_URL.fullmatch(url)
    if match is None:
        if "[" in url:
            raise ValueError(f"{url!r}: IPv6 literals are not supported here; use a host name")
        raise ValueError(
            f"{url!r} is not a stun:, turn: or turns: URL "
            "(like stun:turn.example.com:3478 or turn:turn.example.com:3478?transport=tcp)"
        )
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{url!r}: the port must be 1 to 65535")
    if match["scheme"] == "stun" and match["transport"] is not None:
        raise ValueError(f"{url!r}: a stun: URL takes no transport")
    if match["scheme"] == "turns" and match["transport"] == "udp":
        raise ValueError(f"{url!r}: turns: runs over TLS on TCP; transport=udp is not possible")
    return url


def is_turn_url(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


class Settings(BaseSettings):
    # No setting may be NaN or infinite (a timeout of inf would overflow the clock's arithmetic).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", allow_inf_nan=False
    )

    #: Where the embedded database and uploaded files live (a checkout's ``data/``, else ``./data``).
    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL; empty means SQLite in ``data_dir`` (the embedded default). PostgreSQL:
    #: ``postgresql://user:password@host/database`` (psycopg 3; docs/customer-care.md, Persistence).
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    #: Where the pages are served from: a checkout's web_client sources (their npm packages from
    #: its node_modules), else the bundle built into the installed package (core/paths.py).
    web_client_dir: Path = Field(default_factory=default_web_client_dir)
    #: The shipped avatars, MediaPipe model and demo recording: the checkout's, else the package's.
    assets_dir: Path = Field(default_factory=default_assets_dir)
    #: Origins that may embed the customer's pages in a frame (space-separated, e.g.
    #: ``https://www.brand.example``); empty: nobody. Other pages may never be framed (docs/security.md).
    frame_ancestors: str = ""
    #: Seconds an operator has to accept an offered customer before it goes to the next one.
    accept_timeout_s: float = Field(default=20.0, gt=0, le=86_400)
    #: How often the server expires missed offers and makes new ones.
    queue_tick_s: float = Field(default=1.0, gt=0, le=86_400)
    #: How often an open socket checks its token again, so one that expired (or was revoked where
    #: this process did not see it) closes within this time (docs/security.md).
    socket_recheck_s: float = Field(default=30.0, gt=0, le=86_400)

    # -- reaching the live rooms from real networks (docs/deploy.md) ---------------------------
    #: STUN and TURN servers, comma-separated (``stun:``, ``turn:``, ``turns:``; ``?transport=tcp``
    #: allowed). Empty: host candidates only, enough for one machine or one LAN.
    ice_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: coturn's ``static-auth-secret``: each participant gets TURN credentials minted for them
    #: (the TURN REST API scheme). Required as soon as a turn:/turns: URL is set.
    turn_secret: SecretStr | None = None
    #: How long minted TURN credentials stay valid, in seconds: the longest consultation plus a
    #: margin (a page that reconnects gets fresh ones with its new join).
    turn_credential_ttl_s: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)
    #: ``relay``: pages use only the TURN relay (for networks where nothing else gets through).
    ice_transport_policy: Literal["all", "relay"] = "all"
    #: The server's public address when it sits behind 1:1 NAT (a cloud VM with a private
    #: address): its host candidates are offered with this address as well.
    public_ip: str | None = None

    # -- HTTPS and the public origin ---------------------------------------------------------
    #: PEM certificate (chain) and private key: serve HTTPS directly (HSTS is sent on TLS).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: The origin customers and operators reach, e.g. ``https://care.example.com``: every URL the
    #: server prints or hands out uses it. Empty: the address it listens on.
    public_url: str = ""
    #: Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or
    #: networks, e.g. ``127.0.0.1``). Empty: forwarded headers are ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("ice_servers", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ice_servers")
    @classmethod
    def _ice_urls(cls, urls: list[str]) -> list[str]:
        return [parse_ice_url(url) for url in urls]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if proxy == "*":
                continue
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or network (like 127.0.0.1 or 10.0.0.0/8)"
                ) from None
        return proxies

    @field_validator("turn_secret", "public_ip", "tls_cert", "tls_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("public_ip")
    @classmethod
    def _routable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address (like 203.0.113.7)") from None
        if address.is_loopback or address.is_unspecified or address.is_multicast:
            raise ValueError(f"{address} cannot be the server's public address")
        return str(address)

    @field_validator("public_url")
    @classmethod
    def _origin(cls, url: str) -> str:
        if not url:
            return url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) origin like https://care.example.com")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError(
                f"{url!r}: only an origin is supported (no path, query or fragment), not yet a sub-path"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        turn = [url for url in self.ice_servers if is_turn_url(url)]
        if turn and (self.turn_secret is None or not self.turn_secret.get_secret_value()):
            raise ValueError(
                f"{ENV_PREFIX}ICE_SERVERS has TURN URLs ({', '.join(turn)}) but {ENV_PREFIX}TURN_SECRET "
                "is not set: set it to coturn's static-auth-secret"
            )
        if self.ice_transport_policy == "relay" and not turn:
            raise ValueError(
                f"{ENV_PREFIX}ICE_TRANSPORT_POLICY=relay needs a turn: or turns: URL in {ENV_PREFIX}ICE_SERVERS"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError(f"{ENV_PREFIX}TLS_CERT and {ENV_PREFIX}TLS_KEY go together: set both or neither")
        for name, path in (("TLS_CERT", self.tls_cert), ("TLS_KEY", self.tls_key)):
            if path is not None and not path.is_file():
                raise ValueError(f"{ENV_PREFIX}{name}: {path} is not a readable file")
        return self

    # -- what is open, and to whom (docs/security.md) ----------------------------------------
    #: Bearer token ``GET /metrics`` asks for (every brand's live rooms); empty: /metrics answers 404.
    metrics_token: str = ""
    #: Where rate limits count (the ``limits`` library's storage URL): ``memory://`` in this process,
    #: ``redis://host:6379`` for several processes sharing the counts.
    rate_limit_storage: str = "memory://"
    #: Sign-in attempts per client address, and failed sign-ins per account, before 429 (docs/security.md).
    login_rate_per_address: str = "30 per minute"
    login_failures_per_account: str = "10 per 15 minutes"
    #: Password checks (argon2, ~50 ms of one core each) running at once; the rest wait their turn.
    password_hash_concurrency: int = Field(default=2, ge=1)
    #: ``POST /api/retarget``: calls per brand key, and frames per call.
    retarget_rate: str = "30 per minute"
    retarget_max_frames: int = 2000
    #: Networks a webhook (the brand's checkout URL) may reach although private or loopback, for a
    #: brand's server inside the same private network; empty: only public addresses, as it should be.
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    #: CA bundle webhook TLS is verified with; empty: the system's (certifi's) roots.
    webhook_ca_file: str = ""

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'avatar-care.sqlite3'}"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def origin(self, host: str, port: int) -> str:
        """Where people reach this server: the public URL, else the listening address."""
        if self.public_url:
            return self.public_url
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        if ":" in shown:
            shown = f"[{shown}]"
        return f"{'https' if self.tls else 'http'}://{shown}:{port}"


def describe_errors(error: ValidationError) -> str:
    """One line per bad setting, each naming its environment variable."""
    lines = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["loc"]:
            name = ENV_PREFIX + str(item["loc"][0]).upper()
            lines.append(f"{name}: {message}")
        else:  # a rule across settings: its message names them
            lines.append(message)
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
