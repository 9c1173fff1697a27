"""The only exceptions the codec raises, whatever bytes it is fed."""

from __future__ import annotations


class CodecError(ValueError):
    """Bytes the codec cannot turn into a value, or a value it cannot encode. `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class FrameError(CodecError):
    """No header can be read from the frame (too short for even a 2013 header)."""


class BodyError(CodecError):
    """The header was read but the body does not fit the message's layout (truncated, bad value)."""
