"""Running asyncio programs as processes (gateway, processor, simulator, load generator): on uvloop
when it is installed (faster sockets, less memory per connection), plain asyncio otherwise."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when available."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run main(stop); SIGTERM and SIGINT set `stop`, and main is expected to end gracefully then."""

    async def wrapper() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await main(stop)

    return run(wrapper())


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
