"""One input policy for every request: hostile values get a 4xx with a reason, never a 500.

Three layers, each catching what the one before cannot see:

1. **The body's JSON, before any route sees it** (:func:`json_problem`, called by
   ``avatar_care.api.limits.BodyLimits`` on every JSON request body): nesting deeper than
   ``MAX_DEPTH``, an integer outside 64 bits, a number that is not finite (``1e400``, ``NaN``,
   ``Infinity``), a string with a lone surrogate or a NUL character, anywhere in the document, also
   inside free-form objects (a template's hours, a join's context) that no model describes.
2. **Shared constrained types** the request models use for the values the database and the
   calendar limit: :data:`RowId` (a row's integer id), :data:`Instant` (an aware date and time
   whose UTC value stays inside the calendar).
3. **Handlers** (:func:`install`): the framework's own validation errors rendered without echoing
   the input (FastAPI's handler fails to encode a lone surrogate it echoes); the domain's
   validation-ish errors (``ValueError`` and its kinds, ``OverflowError``, the database driver's
   refusal of a value) as 422 with their message; anything else as a last-resort 500 whose body
   says nothing of the internals, logged with an id the body repeats.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from avatar_care.core.json_depth import json_nesting

logger = logging.getLogger(__name__)

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
#: Deeper JSON than this is refused (the parser itself would fail near 1,000 levels).
MAX_DEPTH: Final = 64


class HostileInput(ValueError):
    """A value the input policy refuses; the message says where and why."""


# -- 1. the body's JSON ------------------------------------------------------------------------
def _refuse_constant(name: str) -> float:
    raise HostileInput(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HostileInput(f"the number {text[:40]} is too large to be finite")
    return value


def _int64(text: str) -> int:
    if len(text.lstrip("-")) > 19:  # cheap guard before int() on a 100,000-digit number
        raise HostileInput(f"the integer {text[:40]}… is outside 64 bits")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise HostileInput(f"the integer {text} is outside 64 bits")
    return value


def text_problem(value: str) -> str | None:
    """Why a string cannot be taken (stored, logged, sent back as UTF-8), or None."""
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (not valid Unicode)"
    return None


def check_value(value: Any, where: str = "body") -> None:
    """Refuse strings the policy does not take anywhere inside an already-parsed JSON value."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason:
                raise HostileInput(f"{path}: the text {reason}")
        elif isinstance(item, dict):
            for key, child in item.items():
                reason = text_problem(key)
                if reason:
                    raise HostileInput(f"{path}: a key {reason}")
                stack.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))


def parse_json(raw: bytes | str, where: str = "body") -> Any:
    """JSON parsed under the policy; raises :class:`HostileInput` with the reason."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if json_nesting(data) > MAX_DEPTH:
        raise HostileInput(f"{where}: nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(data, parse_int=_int64, parse_float=_finite_float, parse_constant=_refuse_constant)
    except HostileInput as exc:
        raise HostileInput(f"{where}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise HostileInput(f"{where}: not valid JSON: {exc}") from None
    check_value(value, where)
    return value


def json_problem(raw: bytes) -> str | None:
    """Why a request body is refused by the policy, or None when it may go on to the route."""
    if not raw.strip():
        return None  # no body: the route decides whether it needs one
    try:
        parse_json(raw)
    except HostileInput as exc:
        return str(exc)
    return None


# -- 2. shared constrained types ----------------------------------------------------------------
#: The largest row id: the id columns are SQL ``INTEGER``, 32 bits on PostgreSQL (64 on SQLite),
#: so a larger id can name no row on either, and a database would refuse to compare with it.
ROW_ID_MAX: Final = 2**31 - 1
#: A row's integer id (path or body): a positive integer the id columns can hold.
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]


def _inside_calendar(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-03-02T10:00:00+01:00)")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the calendar's range once in UTC") from None
    return value


#: An aware instant that stays inside the calendar when converted to UTC.
Instant = Annotated[datetime, AfterValidator(_inside_calendar)]


# -- 3. handlers --------------------------------------------------------------------------------
class SafeJSONResponse(JSONResponse):
    """JSON in ASCII: whatever a message quotes, the body always encodes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, default=str).encode("ascii")


def _printable(value: object) -> str:
    return str(value).encode("utf-8", "replace").decode("utf-8")


def validation_errors(exc: RequestValidationError | WebSocketRequestValidationError) -> list[dict[str, Any]]:
    """The framework's validation errors without the input that failed (it may be hostile)."""
    return [
        {
            "loc": [_printable(p) for p in e.get("loc", ())],
            "msg": _printable(e.get("msg", "")),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]


def _domain_reason(exc: Exception) -> str | None:
    """The message of a validation-ish error, or None when the error is a fault of ours."""
    if isinstance(exc, StatementError):  # the driver or a type refused a value while binding it
        orig = exc.orig
        if isinstance(exc, DataError) or isinstance(orig, (ValueError, OverflowError)):
            return "a value cannot be stored: " + _printable(str(orig).splitlines()[0] if orig else "")
        return None
    if isinstance(exc, (ValueError, OverflowError)):
        return _printable(exc)
    return None


def install(app: FastAPI) -> None:
    """The policy's handlers on the app (see the module's docstring)."""

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return SafeJSONResponse({"detail": validation_errors(exc)}, status_code=422)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, (dict, list)) else _printable(exc.detail)
        return SafeJSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    async def domain_or_fault(request: Request, exc: Exception) -> JSONResponse:
        reason = _domain_reason(exc)
        if reason is not None:
            logger.info("%s %s refused: %s", request.method, request.url.path, reason)
            return SafeJSONResponse({"detail": reason}, status_code=422)
        return last_resort(request, exc)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in (ValueError, OverflowError, StatementError):
        app.add_exception_handler(kind, domain_or_fault)
    # Handled by the outermost middleware, which re-raises after answering (the server logs it).
    app.add_exception_handler(Exception, last_resort)


def last_resort(request: Request, exc: Exception) -> JSONResponse:
    """A fault of ours: a 500 that names an id the log repeats, and nothing of the internals."""
    error_id = secrets.token_hex(6)
    logger.error("%s %s failed (error %s)", request.method, request.url.path, error_id, exc_info=exc)
    return SafeJSONResponse(
        {"detail": f"the server failed on this request (error {error_id})"}, status_code=500
    )
