"""The NATS JetStream hand-off (scale-out): gateways publish batches, `wastetrail processor` stores them.

Gateway side (`NatsHandoff`): everything waiting is one JetStream message (a compact JSON list of
`PositionRecord.as_wire()` lists) on `<prefix>.<gateway id>` with `Nats-Msg-Id` = gateway id + batch
number; the terminals are acknowledged when JetStream's publish ack arrives (the stream is
file-backed, so the batch is durable). A publish that fails or times out is retried with the same
message id, which JetStream de-duplicates, so a batch is never stored twice because of a retry
(and `store.write_positions` is idempotent anyway).

Processor side (`Processor`): a durable pull consumer shared by any number of processors; each
fetch is stored with one `store.write_positions` call and the messages are acknowledged after the
commit. A batch that fails is not acknowledged (JetStream redelivers it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from wastetrail.telemetry.records import PositionRecord

from .dbthreads import DatabaseThreads
from .handoff import RETRY_FIRST_DELAY, RETRY_MAX_DELAY, Handoff, Store, Submission

log = logging.getLogger("wastetrail.gateway.nats")

DUPLICATE_WINDOW = 120.0  # seconds JetStream remembers message ids (a retried publish within it is dropped)
PUBLISH_TIMEOUT = 5.0
PROCESSOR_DURABLE = "wastetrail-processor"
# Leave room under the server's max_payload for headers and the JSON framing of the list.
PAYLOAD_MARGIN = 0.9


CONNECT_TIMEOUT = 10.0  # a gateway or processor that cannot reach NATS at start fails with a clear message


class NatsUnavailable(RuntimeError):
    pass


async def connect(url: str, name: str):
    """Connect, retrying for up to CONNECT_TIMEOUT; once connected, reconnect for ever (publishes
    wait meanwhile, and nothing is acknowledged to terminals)."""
    async def quiet(error: Exception) -> None:
        log.warning("NATS %s: %s", url, error or type(error).__name__)

    try:
        return await asyncio.wait_for(
            nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=2,
                         error_cb=quiet), CONNECT_TIMEOUT)
    except (TimeoutError, OSError, nats.errors.Error) as error:
        raise NatsUnavailable(f"NATS is not reachable at {url} ({type(error).__name__}); is nats-server -js "
                              "running?") from None


def encode_batch(records: Sequence[PositionRecord]) -> bytes:
    return json.dumps([record.as_wire() for record in records], separators=(",", ":"),
                      ensure_ascii=False).encode()


def decode_batch(data: bytes) -> list[PositionRecord]:
    return [PositionRecord.from_wire(values) for values in json.loads(data)]


async def ensure_stream(js, *, stream: str, subject_prefix: str) -> None:
    """Create the positions stream when missing: file storage (durable), work-queue retention (a
    message is removed once a processor acknowledged it), de-duplication window for retries."""
    try:
        await js.stream_info(stream)
        return
    except NotFoundError:
        pass
    await js.add_stream(StreamConfig(
        name=stream, subjects=[f"{subject_prefix}.>"], storage=StorageType.FILE,
        retention=RetentionPolicy.WORK_QUEUE, duplicate_window=DUPLICATE_WINDOW,
    ))
    log.info("created JetStream stream %s for %s.>", stream, subject_prefix)


class NatsHandoff(Handoff):
    """Publishes batches to JetStream; acknowledges terminals after the publish ack."""

    name = "nats"

    def __init__(self, url: str, stream: str, subject_prefix: str, *, gateway_id: str,
                 batch_max_records: int = 5000) -> None:
        super().__init__()
        self.url = url
        self.stream = stream
        self.subject = f"{subject_prefix}.{gateway_id}"
        self.subject_prefix = subject_prefix
        self.gateway_id = gateway_id
        self.batch_max_records = batch_max_records
        self.batches_published = 0
        self._waiting: list[Submission] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._seq = 0
        self.nc = None
        self.js = None

    async def start(self) -> None:
        await super().start()
        self._wake = asyncio.Event()
        self.nc = await connect(self.url, f"wastetrail-gateway {self.gateway_id}")
        self.js = self.nc.jetstream()
        await ensure_stream(self.js, stream=self.stream, subject_prefix=self.subject_prefix)
        self._task = asyncio.get_running_loop().create_task(self._publish_forever(), name="nats-handoff")

    def _enqueue(self, submission: Submission) -> None:
        self._waiting.append(submission)
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._waiting:
            dropped, self._waiting = self._waiting, []
            self._drop(dropped)
        if self.nc is not None:
            await self.nc.close()
            self.nc = None

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch = self._take()
                try:
                    await self._publish(batch)
                except asyncio.CancelledError:
                    self._drop(batch)
                    raise
                self._deliver(batch)

    def _take(self) -> list[Submission]:
        waiting = self._waiting
        count = end = 0
        while end < len(waiting) and count < self.batch_max_records:
            count += len(waiting[end][0])
            end += 1
        batch, self._waiting = waiting[:end], waiting[end:]
        return batch

    async def _publish(self, batch: list[Submission]) -> None:
        """Publish until JetStream acknowledges (retrying with the same message id); a batch larger
        than the server's payload limit goes as several messages."""
        payload = encode_batch([record for records, _w, _t in batch for record in records])
        if len(payload) > self.nc.max_payload * PAYLOAD_MARGIN and len(batch) > 1:
            middle = len(batch) // 2
            await self._publish(batch[:middle])
            await self._publish(batch[middle:])
            return
        self._seq += 1
        headers = {"Nats-Msg-Id": f"{self.gateway_id}-{self._seq}"}
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                await self.js.publish(self.subject, payload, timeout=PUBLISH_TIMEOUT, headers=headers)
                self.batches_published += 1
                return
            except (nats.errors.Error, TimeoutError, OSError) as error:
                log.warning("publishing %d reports to JetStream failed (%s); retrying", len(batch), error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)


class Processor:
    """Stores what the gateways published: fetch, `store.write_positions`, acknowledge after commit."""

    def __init__(self, store: Store, *, url: str, stream: str, subject_prefix: str,
                 durable: str = PROCESSOR_DURABLE, fetch_batch: int = 16, fetch_timeout: float = 1.0) -> None:
        self.store = store
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.durable = durable
        self.fetch_batch = fetch_batch
        self.fetch_timeout = fetch_timeout
        self.db = DatabaseThreads(1, name="processor-db")
        self.messages_stored = 0
        self.records_stored = 0
        self.nc = None
        self._stop: asyncio.Event | None = None
        self._sub = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self.nc = await connect(self.url, "wastetrail-processor")
        js = self.nc.jetstream()
        await ensure_stream(js, stream=self.stream, subject_prefix=self.subject_prefix)
        config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                                deliver_policy=DeliverPolicy.ALL, ack_wait=60.0, max_ack_pending=1000,
                                filter_subject=f"{self.subject_prefix}.>")
        self._sub = await js.pull_subscribe(f"{self.subject_prefix}.>", durable=self.durable, stream=self.stream,
                                            config=config)

    async def run(self) -> None:
        """Until stop(): fetch, store, acknowledge."""
        while not self._stop.is_set():
            try:
                messages = await self._sub.fetch(self.fetch_batch, timeout=self.fetch_timeout)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.Error as error:
                if self._stop.is_set():
                    break
                log.warning("fetching from JetStream failed: %s", error)
                await asyncio.sleep(RETRY_MAX_DELAY / 5)
                continue
            await self._store(messages)

    async def _store(self, messages: list) -> None:
        try:
            batches = [decode_batch(message.data) for message in messages]
        except (ValueError, TypeError) as error:  # not ours to store: never acknowledged as stored
            log.error("undecodable message(s) on %s: %s; terminating them", self.stream, error)
            good = []
            for message in messages:
                try:
                    good.append((message, decode_batch(message.data)))
                except (ValueError, TypeError):
                    await message.term()
            messages, batches = [m for m, _b in good], [b for _m, b in good]
        if not messages:
            return
        if await self._write(messages, batches) or len(messages) == 1:
            return
        # One message may be what fails (bad data): store them one by one, so the others go through.
        for message, batch in zip(messages, batches, strict=True):
            await self._write([message], [batch])

    async def _write(self, messages: list, batches: list[list[PositionRecord]]) -> bool:
        try:
            await self.db.call(self.store.write_positions,
                               records=[record for batch in batches for record in batch])
        except Exception as error:  # noqa: BLE001 - not stored: JetStream redelivers it
            log.warning("storing %d message(s) failed (%s); not acknowledged", len(messages), error)
            if len(messages) == 1:
                await messages[0].nak(delay=RETRY_MAX_DELAY)
            return False
        for message in messages:
            await message.ack()
        await self.nc.flush()
        self.messages_stored += len(messages)
        self.records_stored += sum(len(batch) for batch in batches)
        return True

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.flush()  # the last acknowledgements (close, not drain: a pending fetch would hold it)
            await self.nc.close()
            self.nc = None
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
