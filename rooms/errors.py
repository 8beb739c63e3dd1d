"""The domain's refusals; the HTTP layer turns each kind into its status code."""

from __future__ import annotations


class CareError(Exception):
    """Base of the refusals below; the message is meant for the person who asked."""


class NotFound(CareError):
    """The thing does not exist, or belongs to someone the caller may not see (same answer on purpose)."""


class Conflict(CareError):
    """The request does not fit the current state (an offer already taken, a survey already answered)."""


class Invalid(CareError):
    """The request itself is wrong (an unknown language, a rating out of range)."""


class Forbidden(CareError):
    """The caller is known but may not do this."""
