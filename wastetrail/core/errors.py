"""Errors that services raise and every door (page, API, command) turns into a clear message.

Bad input is a django ValidationError with a message per field; these cover the rest.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that is well-formed but not allowed in the current state (HTTP 409)."""

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(Exception):
    """The object does not exist or the actor may not see it (both look the same: HTTP 404)."""
