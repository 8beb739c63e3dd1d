"""The care desk refuses values a database cannot hold before writing any part of the change."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Boolean, Integer, String, Text

from rooms.desk import Customer
from rooms.errors import Invalid
from rooms.storable import problem
from tests.rooms.desk_support import make_world


def test_what_each_column_type_can_hold() -> None:
    assert problem(String(3), "abc") is None and problem(String(3), "abcd") == "is longer than 3 characters"
    assert problem(Text(), "x" * 100_000) is None and problem(Text(), "a\x00") == "holds a NUL character"
    assert problem(Integer(), 2**31 - 1) is None and problem(Integer(), -(2**31)) is None
    assert problem(Integer(), 2**31) == "is outside the range of a 32-bit integer"
    assert problem(BigInteger(), 2**40) is None and problem(BigInteger(), 2**63) is not None
    assert problem(Boolean(), True) is None and problem(String(2), None) is None


def test_the_desk_refuses_and_the_session_goes_on(database_url: str) -> None:
    w = make_world(database_url)
    anna = w.operator("anna", ["it"], ["optics"])
    with pytest.raises(Invalid, match="customer ref is longer than 200"):
        w.desk.join(w.template, Customer("c" * 201, "it"))
    assert w.desk.queue(w.brand.id) == []
    cs, _ = w.desk.join(w.template, Customer("c-1", "it", priority=1))
    w.desk.accept(cs.id, anna.id)
    with pytest.raises(Invalid, match="NUL"):
        w.desk.chat(cs.id, "customer", "ciao\x00")
    w.desk.chat(cs.id, "customer", "ciao")
    assert [m.text for m in w.desk.transcript(cs.id)] == ["ciao"]
