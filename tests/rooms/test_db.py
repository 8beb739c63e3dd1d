"""Database URLs: PostgreSQL's plain forms go through psycopg 3, and the server names itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rooms.db import make_engine, normalized_url
from tests.postgres_cluster import PostgresCluster


def test_plain_postgresql_urls_get_the_installed_driver() -> None:
    for plain in ("postgresql://care:secret@db.example/care", "postgres://care:secret@db.example/care"):
        url = normalized_url(plain)
        assert url.drivername == "postgresql+psycopg" and url.password == "secret" and url.database == "care"
    assert normalized_url("postgresql+psycopg://h/care").drivername == "postgresql+psycopg"
    assert normalized_url("sqlite:///x.sqlite3").drivername == "sqlite"


@pytest.mark.postgresql
def test_a_plain_postgresql_url_connects_and_names_the_application(postgres_cluster: PostgresCluster) -> None:
    with postgres_cluster.database() as url:
        for plain, name in [
            (url.replace("postgresql+psycopg://", "postgresql://"), "avatar-care"),
            (url.replace("postgresql+psycopg://", "postgres://") + "?application_name=care-eu", "care-eu"),
        ]:
            engine = make_engine(plain)
            try:
                with engine.connect() as connection:
                    assert connection.execute(text("SHOW application_name")).scalar() == name
            finally:
                engine.dispose()
