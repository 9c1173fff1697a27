"""Gateway -> storage hand-off, and the rule it exists for: a report is acknowledged only once durable.

A connection submits the records of one report together with an opaque token (the encoded 0x8001
it will send) and itself as the *waiter*. The hand-off batches everything waiting, makes it durable
(the store's transaction in-process; JetStream's publish ack with NATS) and then, on the event loop,
gives each waiter the tokens of its durable reports in one call, so a connection writes all its acks
of a batch with one `transport.write`. What cannot be made durable is never acknowledged: the waiter
is told it was dropped and the terminal resends it (reports are stored idempotently).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from wastetrail.telemetry.records import PositionRecord

log = logging.getLogger("wastetrail.gateway.handoff")

# Errors that say "the database is not reachable right now": retry the same batch. Any other error
# is taken as a problem with the data and the batch is split to find the submission that causes it.
_TRANSIENT_ERROR_NAMES = ("OperationalError", "InterfaceError")
# A submission whose write fails this many times with a data error is dropped (never acknowledged).
POISON_ATTEMPTS = 3
RETRY_FIRST_DELAY = 0.05
RETRY_MAX_DELAY = 5.0
LINGER = 0.005  # seconds a small batch may wait for more while the writer is busy
LINGER_WHEN_BUSY_WITHIN = 0.05


class Waiter(Protocol):
    def reports_durable(self, tokens: list) -> None:
        """Called on the event loop with the tokens of this waiter's submissions now durable."""

    def reports_dropped(self, count: int) -> None:
        """Called on the event loop: this many submissions will never be durable (not acknowledged)."""


class Store(Protocol):
    def write_positions(self, records: Sequence[PositionRecord]) -> Any: ...


# One submission: the records of one report (a 0x0200 carries one, a 0x0704 several), who waits, token.
Submission = tuple[list[PositionRecord], Waiter, Any]


class Handoff:
    """What the gateway needs from a hand-off. Subclasses make batches durable."""

    name = "handoff"

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0  # submissions not yet delivered or dropped
        self._idle = asyncio.Event()
        self._idle.set()
        self.records_durable = 0
        self.submissions_dropped = 0

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Created here, not in __init__: the event must belong to the running loop.
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, records: list[PositionRecord], waiter: Waiter, token: Any) -> None:
        """Called on the event loop by a connection; must not block."""
        self._in_flight += 1
        self._idle.clear()
        self._enqueue((records, waiter, token))

    def _enqueue(self, submission: Submission) -> None:
        raise NotImplementedError

    async def drain(self, timeout: float) -> bool:
        """Wait until everything submitted is durable (and its waiters told) or dropped."""
        if self._in_flight == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop; what is still in flight is dropped (not acknowledged). Call drain() first."""

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # --- on the event loop ---------------------------------------------------------------
    def _deliver(self, batch: Sequence[Submission]) -> None:
        by_waiter: dict[Waiter, list] = {}
        records = 0
        for recs, waiter, token in batch:
            records += len(recs)
            tokens = by_waiter.get(waiter)
            if tokens is None:
                by_waiter[waiter] = [token]
            else:
                tokens.append(token)
        self.records_durable += records
        for waiter, tokens in by_waiter.items():
            try:
                waiter.reports_durable(tokens)
            except Exception:  # one broken connection must not keep the others' acks back
                log.exception("delivering acknowledgements failed")
        self._settled(len(batch))

    def _drop(self, batch: Sequence[Submission]) -> None:
        counts: dict[Waiter, int] = {}
        for _records, waiter, _token in batch:
            counts[waiter] = counts.get(waiter, 0) + 1
        self.submissions_dropped += len(batch)
        for waiter, count in counts.items():
            try:
                waiter.reports_dropped(count)
            except Exception:
                log.exception("reporting dropped submissions failed")
        self._settled(len(batch))

    def _settled(self, count: int) -> None:
        self._in_flight -= count
        if self._in_flight <= 0:
            self._in_flight = 0
            self._idle.set()


def is_transient(error: BaseException) -> bool:
    return type(error).__name__ in _TRANSIENT_ERROR_NAMES or isinstance(error, ConnectionError | TimeoutError)


_STOP = object()


class InProcessHandoff(Handoff):
    """One writer thread: takes everything waiting (up to `batch_max_records`), stores it in one
    `store.write_positions` call (one transaction), then hands the acks back to the loop.

    Batching is what makes it fast: while one batch is written the next one gathers, so under load
    each transaction carries thousands of positions, and when idle a single report is written at once.
    """

    name = "inproc"

    def __init__(self, store: Store, *, batch_max_records: int = 5000) -> None:
        super().__init__()
        self.store = store
        self.batch_max_records = batch_max_records
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._give_up = threading.Event()  # set when stopping: stop retrying, drop what fails
        self.batches_written = 0
        self.write_seconds = 0.0  # time spent in store.write_positions (successful or not)
        self._last_write_end = 0.0

    async def start(self) -> None:
        await super().start()
        self._thread = threading.Thread(target=self._run, name="position-writer", daemon=True)
        self._thread.start()

    def _enqueue(self, submission: Submission) -> None:
        self._queue.put(submission)

    async def close(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._give_up.set()
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join, timeout)
        if self._thread.is_alive():  # a write hangs in the database: leave the (daemon) thread behind
            log.warning("the position writer did not finish within %.0f s", timeout)
        self._thread = None

    # --- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                batch, stop = self._take()
                if batch:
                    self._write_batch(batch)
                if stop:
                    return
        finally:
            from django.db import connections

            connections.close_all()

    def _take(self) -> tuple[list[Submission], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        count = len(first[0])
        # Under load (the previous write ended a moment ago) a small batch waits a few milliseconds
        # for more: fewer, larger transactions. An idle gateway writes a lone report at once.
        linger = time.monotonic() - self._last_write_end < LINGER_WHEN_BUSY_WITHIN
        deadline = time.monotonic() + LINGER
        while count < self.batch_max_records:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                if not linger or count >= self.batch_max_records // 4:
                    break
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)
            count += len(item[0])
        return batch, False

    def _write_batch(self, batch: list[Submission]) -> None:
        durable, dropped = self._write_with_retry(batch)
        self._last_write_end = time.monotonic()
        loop = self.loop
        if durable:
            self.batches_written += 1
            loop.call_soon_threadsafe(self._deliver, durable)
        if dropped:
            loop.call_soon_threadsafe(self._drop, dropped)

    def _write_with_retry(self, batch: list[Submission]) -> tuple[list[Submission], list[Submission]]:
        """Write the batch; return (durable, dropped). Transient errors are retried with backoff
        until the gateway stops; a data error splits the batch until the failing submission is
        alone, and that one is dropped after a few attempts."""
        delay = RETRY_FIRST_DELAY
        data_failures = 0
        while True:
            began = time.perf_counter()
            try:
                self.store.write_positions([record for records, _w, _t in batch for record in records])
                self.write_seconds += time.perf_counter() - began
                return batch, []
            except Exception as error:  # noqa: BLE001 - every failure means "not durable"
                _reset_connection()
                self.write_seconds += time.perf_counter() - began
                transient = is_transient(error)
                log.warning("storing %d submissions failed (%s): %s", len(batch),
                            "will retry" if transient else "data error", error,
                            exc_info=not transient)
                if self._give_up.is_set():
                    return [], batch
                if not transient:
                    data_failures += 1
                    if len(batch) > 1:
                        middle = len(batch) // 2
                        first_ok, first_dropped = self._write_with_retry(batch[:middle])
                        second_ok, second_dropped = self._write_with_retry(batch[middle:])
                        return first_ok + second_ok, first_dropped + second_dropped
                    if data_failures >= POISON_ATTEMPTS:
                        log.error("dropping a report that cannot be stored (not acknowledged): %r", batch[0][0])
                        return [], batch
                self._give_up.wait(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)


def _reset_connection() -> None:
    """After a failed write the thread's connection may be unusable; the next write reconnects."""
    from django.db import connection

    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail too; that is fine
        pass
