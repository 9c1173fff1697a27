"""Database calls from the event loop: Django's ORM is synchronous, so each call runs in one of a few
worker threads (each with its own connection) and the loop gets a future. Never block the loop."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# SQLite's shared-cache mode (the in-memory database of the test suite) answers a conflicting lock
# with "database table is locked" at once instead of waiting for the busy timeout; the call rolled
# back, so it is simply tried again.
LOCKED_RETRIES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.0, 2.0)


def _call(fn: Callable, kwargs: dict) -> Any:
    from django.db import OperationalError, close_old_connections, connection

    close_old_connections()  # drops a connection the server closed or that failed before
    for delay in (*LOCKED_RETRIES, None):
        try:
            return fn(**kwargs)
        except OperationalError as error:
            if delay is None or "locked" not in str(error):
                connection.close()  # it may be unusable now; the next call opens a fresh one
                raise
            time.sleep(delay)
        except Exception:
            connection.close()
            raise


def _close_connections(barrier: threading.Barrier) -> None:
    from django.db import connections

    try:
        barrier.wait(timeout=5)  # one task per thread: every worker closes its own connection
    except threading.BrokenBarrierError:
        pass
    connections.close_all()


class DatabaseThreads:
    def __init__(self, workers: int = 2, name: str = "gateway-db") -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def call(self, fn: Callable, /, **kwargs) -> asyncio.Future:
        """Run fn(**kwargs) in a worker thread; await (or add a callback to) the returned future."""
        return asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(_call, fn, kwargs))

    def close(self) -> None:
        """Close every worker's database connection and stop the threads (blocking: call it from a
        thread or at the very end)."""
        barrier = threading.Barrier(self.workers)
        for _ in range(self.workers):
            self._pool.submit(_close_connections, barrier)
        self._pool.shutdown(wait=True)
