import pytest
from sqlalchemy import select

from rooms.audit import entries
from rooms.brands import brand_for_api_key, create_brand
from rooms.db import make_engine, migrate, session_factory
from rooms.models import Brand


def test_a_brand_key_is_shown_once_and_stored_hashed(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    with sessions() as s:
        stored = s.scalar(select(Brand))
        assert stored is not None and key not in stored.api_key_hash and len(stored.api_key_hash) == 64
        found = brand_for_api_key(s, key)
        assert found is not None and found.id == brand.id
        assert brand_for_api_key(s, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert brand_for_api_key(s, "not-a-key") is None
        assert [e.action for e in entries(s, brand.id)] == ["brand.create"]
    with sessions() as s, pytest.raises(ValueError, match="name"):
        create_brand(s, "   ")
