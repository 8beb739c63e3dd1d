"""The signaling parser under property-based fuzzing: any text is a message of the protocol or a
refusal with a reason (``Malformed``), never another exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from avatar_care.api.routes.signaling import Join, Malformed, Offer, parse_message

FUZZ = settings(max_examples=400, deadline=None)
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # lone surrogates and NUL included
LEAF = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(ANY_CHAR, max_size=20)
)  # fmt: skip
VALUE = st.recursive(LEAF, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(ANY_CHAR, max_size=6), kids, max_size=4), max_leaves=10)  # fmt: skip
KNOWN = st.fixed_dictionaries(
    {"type": st.sampled_from(["join", "offer", "answer", ""]) | LEAF},
    optional={"role": st.sampled_from(["customer", "operator", "listener"]) | LEAF, "token": LEAF,
              "operator_key": LEAF, "sdp": LEAF, "extra": VALUE},
)  # fmt: skip


def outcome(raw: str) -> None:
    try:
        message = parse_message(raw)
    except Malformed as exc:
        assert str(exc)
    else:
        assert isinstance(message, (Join, Offer))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # writes NaN, Infinity and lone surrogates as they are


@FUZZ
@given(st.text(ANY_CHAR, max_size=300))
def test_any_text(raw: str) -> None:
    outcome(raw)


@FUZZ
@given(KNOWN | VALUE)
def test_any_json_shaped_like_a_message_or_not(value: Any) -> None:
    outcome(dumps(value))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 3000), st.sampled_from(["[", '{"a":', '{"type": [']))
def test_deep_nesting(depth: int, opener: str) -> None:
    outcome(opener * depth)
