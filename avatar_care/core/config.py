"""Server settings, from the environment (prefix ``AVATAR_CARE_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    # No setting may be NaN or infinite (a timeout of inf would overflow the clock's arithmetic).
    model_config = SettingsConfigDict(
        env_prefix="AVATAR_CARE_", env_file=".env", extra="ignore", allow_inf_nan=False
    )

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
    #: Origins that may embed the customer's pages in a frame (space-separated, e.g.
    #: ``https://www.brand.example``); empty: nobody. Other pages may never be framed (docs/security.md).
    frame_ancestors: str = ""
    #: Seconds an operator has to accept an offered customer before it goes to the next one.
    accept_timeout_s: float = Field(default=20.0, gt=0, le=86_400)
    #: How often the server expires missed offers and makes new ones.
    queue_tick_s: float = Field(default=1.0, gt=0, le=86_400)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'avatar-care.sqlite3'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
