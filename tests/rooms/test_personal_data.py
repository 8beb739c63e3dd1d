"""Every table that can hold a customer's personal data is covered by the data-rights registry
(``rooms.personal_data``): erased and exported, or declared to hold none, with the reason."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

import rooms.models  # noqa: F401  (every table on the metadata)
from rooms.db import Base
from rooms.personal_data import NO_CUSTOMER_DATA, PERSONAL, PERSONAL_MARK, uncovered


def schema_copy() -> MetaData:
    copy = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_every_table_of_the_schema_is_covered() -> None:
    assert uncovered(Base.metadata) == []
    # each table is decided once: personal, or none with a reason
    assert not set(PERSONAL) & set(NO_CUSTOMER_DATA)
    assert all(reason.strip() for reason in NO_CUSTOMER_DATA.values())


def test_a_new_table_with_a_personal_looking_column_fails() -> None:
    md = schema_copy()
    Table("loyalty_cards", md, Column("id", Integer, primary_key=True), Column("holder_email", String(320)))
    problems = uncovered(md)
    assert len(problems) == 1 and "loyalty_cards" in problems[0] and "holder_email" in problems[0]


def test_free_text_and_marked_columns_count_whatever_their_name() -> None:
    md = schema_copy()
    Table("fitting_logs", md, Column("id", Integer, primary_key=True), Column("remarks", Text))
    Table("sizes", md, Column("id", Integer, primary_key=True), Column("shoe", Integer, info=PERSONAL_MARK))
    problems = uncovered(md)
    assert any("fitting_logs" in p and "remarks" in p for p in problems)
    assert any("sizes" in p and "shoe" in p for p in problems)


def test_a_table_without_such_columns_needs_no_declaration() -> None:
    md = schema_copy()
    Table("counters", md, Column("id", Integer, primary_key=True), Column("value", Integer))
    assert uncovered(md) == []


def test_a_new_personal_column_in_a_blanked_table_fails_until_erased_or_kept_with_a_reason() -> None:
    md = schema_copy()
    md.tables["care_sessions"].append_column(Column("billing_address", String(500)))
    assert uncovered(md) == [
        "care_sessions.billing_address may hold personal data: erase it or say why it is kept"
    ]


def test_a_registered_table_that_is_gone_is_reported() -> None:
    md = schema_copy()
    md.remove(md.tables["cart_lines"])
    assert uncovered(md) == ["cart_lines is in the registry but not in the schema"]
