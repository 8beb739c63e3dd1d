"""Server settings, from the environment (prefix ``AVATAR_CARE_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AVATAR_CARE_", env_file=".env", extra="ignore")

    #: Where the embedded database and uploaded files live.
    data_dir: Path = Field(default=PROJECT_ROOT / "data")
    #: SQLAlchemy URL; empty means SQLite in ``data_dir`` (the embedded default). PostgreSQL:
    #: ``postgresql://user:password@host/database`` (psycopg 3; docs/customer-care.md, Persistence).
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    #: Where the pages and their npm dependencies are served from.
    web_client_dir: Path = Field(default=PROJECT_ROOT / "web_client")
    assets_dir: Path = Field(default=PROJECT_ROOT / "assets")
    #: Seconds an operator has to accept an offered customer before it goes to the next one.
    accept_timeout_s: float = 20.0
    #: How often the server expires missed offers and makes new ones.
    queue_tick_s: float = 1.0

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
