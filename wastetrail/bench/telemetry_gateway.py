"""The JT/T 808 gateway measured as it runs: positions per second end to end, and memory per connection.

Both run the real gateway as its own process (`wastetrail gateway`, in-process hand-off, DEBUG off,
the bench child's DATABASE_URL) and drive it from another process over loopback, so the two share
this 2-core machine as a gateway and its terminals would share a small server.

`gateway_positions` (figure `gateway_positions_per_s_<vendor>`): FLEET registered terminals log in
and each sends REPORTS 0x0200 reports (one position per frame, unique device times), at most WINDOW
unacknowledged at a time (simulator/loadgen.py). The rate is reports acknowledged per second at the
client, from the first connect to the last ack (logins included: a conservative figure), median of
RUNS runs; each run is then checked against the database (exactly FLEET x REPORTS new rows). The
baseline is a bare bulk insert of the same rows (the last run's, read back) into a plain table
(telemetry_store.bare_insert_rate: COPY on PostgreSQL, executemany on SQLite), so the ratio says how
much of the raw insert speed survives the network, the codec, the session, the hand-off and the
store's checks.

`gateway_connections` (figure `gateway_bytes_per_connection`): CONNECTIONS terminals connect,
authenticate and heartbeat; the gateway's resident memory (VmRSS) grows by the figure per
connection. The baseline is the same count of connections held by a bare uvloop server whose
protocol keeps nothing (the cost of an accepted socket's transport in the event loop), measured the
same way; the kernel's socket buffers are in neither (they are not the process's memory).

Profiling: `WASTETRAIL_BENCH_PROFILE=<dir>` runs the gateway under cProfile (event-loop thread and
writer thread, one file each), e.g.
``WASTETRAIL_BENCH_PROFILE=var/profile DEBUG=1 python -m wastetrail.bench --suite gateway``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wastetrail.bench.harness import Figure, record

FLEET = 500  # terminals sending at once
REPORTS = 600  # reports per terminal per run (300,000 a run): about one login per 600 reports
WINDOW = 16  # unacknowledged reports per terminal
RUNS = 3
CONNECTIONS = 10_000
WARM_UP_CONNECTIONS = 300  # connected and closed before the "before" memory reading
HEARTBEAT_S = 30.0  # between one connection's heartbeats while held (the simulator's default)
HOLD_S = 45.0  # connections held (heartbeating) before the "after" reading: every one heartbeats
PHONE_PREFIX = "1478"  # bench terminals' phones: 1478 + 7 digits
BENCH_USCC = "91440704MAGWBENCH2"  # the bench's transport company
PROFILE_ENV = "WASTETRAIL_BENCH_PROFILE"
START_TIMEOUT_S = 60.0


# --- the fleet ---------------------------------------------------------------------------------

def bench_identities(count: int) -> list:
    """`count` registered terminals (auth code issued, bound to a vehicle of the bench's transport
    company), as the load generator's identities. Created once per database, then reused."""
    from wastetrail.accounts.models import Organisation, OrganisationKind
    from wastetrail.registry.models import Terminal, Vehicle
    from wastetrail.telemetry.simulator.terminal import TerminalIdentity

    company, _ = Organisation.objects.get_or_create(
        uscc=BENCH_USCC, defaults={"name": "网关基准测试运输有限公司", "kind": OrganisationKind.TRANSPORT_COMPANY})
    have = Vehicle.objects.filter(company=company).count()
    Vehicle.objects.bulk_create([Vehicle(plate=f"粤K{n:05d}", vin=f"LGWBENCH{n:09d}", company=company, capacity_m3=18)
                                 for n in range(have, count)], batch_size=1000)
    vehicles = list(Vehicle.objects.filter(company=company).order_by("pk").values_list("pk", flat=True)[:count])
    bound = set(Terminal.objects.filter(vehicle_id__in=vehicles).values_list("vehicle_id", flat=True))
    Terminal.objects.bulk_create(
        [Terminal(company=company, phone=f"{PHONE_PREFIX}{n:07d}", terminal_id=f"B{n:06d}", vehicle_id=vehicle,
                  auth_code=secrets.token_hex(8).upper(), terminal_model="ZT-808G")
         for n, vehicle in enumerate(vehicles) if vehicle not in bound], batch_size=1000)
    rows = Terminal.objects.filter(vehicle_id__in=vehicles).order_by("phone").values_list(
        "phone", "auth_code", "vehicle_id")
    return [TerminalIdentity(phone=phone, protocol="2019", auth_code=code, vehicle_id=vehicle, model="ZT-808G",
                             terminal_id="B" + phone[-6:]) for phone, code, vehicle in rows]


def fleet_in(database_url: str, count: int, *, migrate: bool = False) -> list:
    """bench_identities(count) on another database, from a child process (the caller's Django may
    be on a different database, or none); `migrate` first when the database is new."""
    from wastetrail.telemetry.simulator.terminal import TerminalIdentity

    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "wastetrail.settings"}
    command = [sys.executable, "-m", "wastetrail.bench.telemetry_gateway", "fleet", str(count)]
    output = subprocess.run([*command, *(["--migrate"] if migrate else [])], env=env, check=True,
                            capture_output=True, text=True).stdout
    return [TerminalIdentity(phone=phone, protocol="2019", auth_code=code, vehicle_id=vehicle, model="ZT-808G")
            for phone, code, vehicle in json.loads(output.splitlines()[-1])]


# --- the gateway as a process -----------------------------------------------------------------------

class GatewayProcess:
    """`wastetrail gateway` in a child process on `database_url`, DEBUG off (as production runs:
    no query log), logging warnings only. `start()` waits until it listens and returns the port;
    `kill()` is a SIGKILL (nothing graceful), `stop()` a SIGTERM (graceful stop)."""

    def __init__(self, database_url: str, *, port: int = 0, env: dict | None = None,
                 profile_dir: str | None = None) -> None:
        self.database_url = database_url
        self.port = port
        self.extra_env = env or {}
        self.profile_dir = profile_dir if profile_dir is not None else os.environ.get(PROFILE_ENV)
        self.process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="gateway-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)

    def start(self) -> int:
        env = {**os.environ, "DATABASE_URL": self.database_url, "DEBUG": "0", "SECRET_KEY": secrets.token_hex(24),
               "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "wastetrail.settings", **self.extra_env}
        args = ["gateway", "--port", str(self.port), "--handoff", "inproc"]
        if self.profile_dir:
            command = [sys.executable, "-m", "wastetrail.bench.telemetry_gateway", "profiled", self.profile_dir, *args]
        else:
            command = [sys.executable, "-m", "wastetrail.cli", *args]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True)
        line = _read_line(self.process, START_TIMEOUT_S)
        if " on " not in line:
            self.kill()
            raise RuntimeError(f"the gateway did not start: {line!r}; its log: {self.log_text()[-2000:]}")
        # "JT/T 808 gateway on 127.0.0.1:PORT (hand-off inproc, uvloop)"
        self.port = int(line.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])
        return self.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        return _status_kb(self.pid, "VmRSS") * 1024

    def cpu_seconds(self, *, kernel_only: bool = False) -> float:
        return _cpu_seconds(self.pid, kernel_only=kernel_only)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self.stop()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The child's first line of output, or '' when it ends or says nothing in time."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _cpu_seconds(pid: int, *, kernel_only: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[12]) if kernel_only else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def database_url() -> str:
    """The URL the bench child (or the test) runs on: the gateway process must use the same."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set (run through `python -m wastetrail.bench`)")
    return url


# --- positions end to end -----------------------------------------------------------------------

def _run_rows(vehicle_ids: list[int], first: int, count: int):
    from wastetrail.telemetry.models import Position

    start = dt.datetime.fromtimestamp(first, tz=dt.UTC)
    return Position.objects.filter(vehicle_id__in=vehicle_ids, device_time__gte=start,
                                   device_time__lt=start + dt.timedelta(seconds=count))


def _as_records(rows) -> list:
    from wastetrail.telemetry.records import PositionRecord

    fields = ("vehicle_id", "device_time", "received_at", "lat_e6", "lon_e6", "altitude_m", "speed_dkmh", "heading",
              "alarm", "status", "extras", "source", "flags")
    return [PositionRecord(vehicle_id, "", *values) for vehicle_id, *values in rows.values_list(*fields)]


def gateway_positions(out_dir: Path, *, fleet: int = FLEET, reports: int = REPORTS, runs: int = RUNS) -> Figure:
    from django.db import connection

    from wastetrail.bench.telemetry_store import bare_insert_rate
    from wastetrail.telemetry.simulator.loadgen import LoadOptions, run_load

    identities = bench_identities(fleet)
    vehicle_ids = [identity.vehicle_id for identity in identities]
    # Every run's device times in the past and apart from the other runs' (a resend would be cheaper).
    first = int(time.time()) - 300 - runs * reports
    rates = []
    with GatewayProcess(database_url()) as gateway:
        for run in range(runs):
            start_time = first + run * reports
            cpu_before, load_before = gateway.cpu_seconds(), _children_cpu_seconds()
            kernel_before = gateway.cpu_seconds(kernel_only=True)
            result = run_load(LoadOptions(port=gateway.port, reports=reports, window=WINDOW, start_time=start_time,
                                          deadline_s=600, seed=run), identities, processes=1)
            gateway_cpu = gateway.cpu_seconds() - cpu_before
            gateway_kernel = gateway.cpu_seconds(kernel_only=True) - kernel_before
            load_cpu = _children_cpu_seconds() - load_before  # the load generator's process, ended by now
            stored = _run_rows(vehicle_ids, start_time, reports).count()
            expected = fleet * reports
            if not result.complete or stored != expected:
                raise RuntimeError(f"run {run}: {result.line()}; {stored} rows stored, {expected} expected")
            rates.append(result.acked_per_s)
            print(f"  gateway run {run + 1}/{runs} ({connection.vendor}): {result.line()}; CPU: gateway "
                  f"{gateway_cpu:.1f} s ({gateway_cpu / result.elapsed_s:.0%} of a core, kernel {gateway_kernel:.1f} s,"
                  f" {gateway_cpu / result.acked * 1e6:.0f} us a position), load generator {load_cpu:.1f} s "
                  f"({load_cpu / result.elapsed_s:.0%})", flush=True)
    rows = _as_records(_run_rows(vehicle_ids, first + (runs - 1) * reports, reports))
    baselines = [bare_insert_rate(rows) for _ in range(runs)]
    return record(f"gateway_positions_per_s_{_vendor()}", statistics.median(rates), "positions/s",
                  statistics.median(baselines), out_dir)


def _vendor() -> str:
    from django.db import connection

    return "postgres" if connection.vendor == "postgresql" else connection.vendor  # the figure names


# --- memory per connection ------------------------------------------------------------------------

def gateway_connections(out_dir: Path, *, count: int = CONNECTIONS) -> Figure:
    identities = bench_identities(count + WARM_UP_CONNECTIONS)
    warm_up, held = identities[:WARM_UP_CONNECTIONS], identities[WARM_UP_CONNECTIONS:]
    env = {"JT808_MAX_CONNECTIONS": str(count + 1000)}  # the rest as configured by default (idle timeout 180 s)
    with GatewayProcess(database_url(), env=env) as gateway:
        # Warm up what is made once (lazy imports, database connections, the first activity flush).
        hold_connections(gateway.port, warm_up, hold_s=12.0, heartbeat_s=2.0)
        time.sleep(2.0)
        before = gateway.rss_bytes()
        stats = hold_connections(gateway.port, held, hold_s=HOLD_S, measure=gateway.rss_bytes)
        after = stats["rss_after"]
    if stats["authenticated"] != count or stats["lost"]:
        raise RuntimeError(f"connections: {stats}")
    baseline_stats = _bare_server_bytes(count)
    value = (after - before) / count
    baseline = baseline_stats["per_connection"]
    print(f"  gateway: {count} connections authenticated in {stats['connect_s']:.1f} s, {stats['heartbeats']} "
          f"heartbeats acknowledged; RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB; bare server "
          f"{baseline_stats['before'] / 2**20:.1f} -> {baseline_stats['after'] / 2**20:.1f} MiB", flush=True)
    return record("gateway_bytes_per_connection", value, "bytes", baseline, out_dir)


def hold_connections(port: int, identities: list, *, hold_s: float, measure=None, authenticate: bool = True,
                     heartbeat_s: float = HEARTBEAT_S) -> dict:
    """Connect every identity from a child process (authenticated and heartbeating unless
    `authenticate` is off), hold them for `hold_s`, call `measure()` (here) while they are held,
    then close them. Returns the child's counts, `connect_s`, and `rss_after` = measure()."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    terminals = [(identity.phone, identity.auth_code, identity.version) for identity in identities]
    child = context.Process(target=_holder_main, args=(port, terminals, authenticate, heartbeat_s, child_end),
                            daemon=True)
    child.start()
    child_end.close()
    try:
        if not parent_end.poll(600):
            raise RuntimeError("the connection holder did not connect in 10 minutes")
        connected = parent_end.recv()
        time.sleep(hold_s)
        rss_after = measure() if measure else 0
        parent_end.send("stop")
        if not parent_end.poll(120):
            raise RuntimeError("the connection holder did not stop")
        stats = parent_end.recv()
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
            child.join()
    return {**connected, **stats, "rss_after": rss_after}


def _holder_main(port: int, terminals: list, authenticate: bool, heartbeat_s: float, pipe) -> None:
    try:
        import uvloop

        uvloop.run(_hold(port, terminals, authenticate, heartbeat_s, pipe))
    except ImportError:
        asyncio.run(_hold(port, terminals, authenticate, heartbeat_s, pipe))
    pipe.close()


class _Held(asyncio.Protocol):
    """One held connection: authenticates, then sends a heartbeat every `heartbeat_s`; counts replies."""

    def __init__(self, phone: str, auth_code: str, version: int | None, counts: dict) -> None:
        from wastetrail.telemetry import jt808
        from wastetrail.telemetry.simulator.loadgen import scan_replies

        self.jt808, self.scan = jt808, scan_replies
        self.phone_raw = jt808.phone_to_raw(phone, version)
        self.version = version
        self.auth = jt808.Authentication(auth_code, imei=("86" + phone)[-15:].rjust(15, "0"),
                                         software_version="BENCH 1.0", layout="2019" if version else "2013")
        self.counts = counts
        self.serial = 0
        self.transport = None
        self.buffer = bytearray()
        self.authenticated: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.authenticated.done():
            self.authenticated.set_result(False)

    def send(self, msg_id: int, body: bytes = b"") -> None:
        self.serial = (self.serial + 1) & 0xFFFF
        self.transport.write(self.jt808.encode_frame(msg_id, body, phone_raw=self.phone_raw, serial=self.serial,
                                                     version=self.version))

    def log_in(self) -> None:
        self.send(0x0102, self.auth.encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for msg_id, _serial, result, rest in self.scan(self.buffer):
            if msg_id != 0x8001:
                continue
            if rest == b"\x01\x02" and not self.authenticated.done():
                self.authenticated.set_result(result == 0)
            elif rest == b"\x00\x02":
                self.counts["heartbeats"] += 1


async def _hold(port: int, terminals: list, authenticate: bool, heartbeat_s: float, pipe) -> None:
    loop = asyncio.get_running_loop()
    counts = {"heartbeats": 0}
    gate = asyncio.Semaphore(200)
    held: list[_Held] = []
    failures = 0

    async def connect(phone: str, auth_code: str, version: int | None) -> None:
        nonlocal failures
        async with gate:
            for attempt in range(5):
                try:
                    _t, protocol = await loop.create_connection(lambda: _Held(phone, auth_code, version, counts),
                                                                "127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                if not authenticate:
                    held.append(protocol)
                    return
                protocol.log_in()
                try:
                    ok = await asyncio.wait_for(asyncio.shield(protocol.authenticated), 30)
                except TimeoutError:
                    ok = False
                if ok:
                    held.append(protocol)
                    return
                protocol.transport.abort()
            failures += 1

    async def heartbeats() -> None:
        # Spread over the interval: one slice of the connections every 100 ms, from the first
        # connection on (connecting 10,000 takes longer than a heartbeat interval).
        slices = max(1, int(heartbeat_s / 0.1))
        while True:
            for index in range(slices):
                for protocol in held[index::slices]:
                    if not protocol.closed:
                        protocol.send(0x0002)
                await asyncio.sleep(heartbeat_s / slices)

    beating = loop.create_task(heartbeats()) if authenticate else None
    began = time.perf_counter()
    await asyncio.gather(*(connect(*terminal) for terminal in terminals))
    connect_s = time.perf_counter() - began
    pipe.send({"authenticated": len(held) if authenticate else 0, "connected": len(held), "failures": failures,
               "connect_s": connect_s})
    await loop.run_in_executor(None, pipe.poll, None)  # until the parent says stop
    pipe.recv()
    if beating is not None:
        beating.cancel()
    lost = sum(protocol.closed for protocol in held)
    for protocol in held:
        if not protocol.closed:
            protocol.transport.abort()
    pipe.send({"lost": lost, "heartbeats": counts["heartbeats"]})


# The baseline: a server that accepts and keeps connections with a protocol that does nothing.
_BARE_SERVER = """
import asyncio, sys
class Keep(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        pass
async def main():
    server = await asyncio.get_running_loop().create_server(Keep, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


def _bare_server_bytes(count: int) -> dict:
    from wastetrail.telemetry.simulator.terminal import TerminalIdentity

    server = subprocess.Popen([sys.executable, "-c", _BARE_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        line = _read_line(server, START_TIMEOUT_S)
        port = int(line)
        fake = [TerminalIdentity(phone=f"{PHONE_PREFIX}{n:07d}", auth_code="-") for n in range(count)]
        hold_connections(port, fake[:WARM_UP_CONNECTIONS], hold_s=1.0, authenticate=False)
        time.sleep(1.0)
        before = _status_kb(server.pid, "VmRSS") * 1024
        stats = hold_connections(port, fake, hold_s=HOLD_S / 4, authenticate=False,
                                 measure=lambda: _status_kb(server.pid, "VmRSS") * 1024)
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
    if stats["connected"] != count:
        raise RuntimeError(f"bare server: {stats}")
    after = stats["rss_after"]
    return {"before": before, "after": after, "per_connection": (after - before) / count}


# --- profiling entry point --------------------------------------------------------------------------

def _profiled(out_dir: str, argv: list[str]) -> None:
    """Run `wastetrail <argv>` with cProfile on the main thread (the event loop) and on the position
    writer thread; the stats are written to out_dir/gateway-<pid>.{loop,writer}.prof on a graceful stop."""
    import cProfile

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wastetrail.settings")
    django.setup()
    from wastetrail.telemetry.gateway import handoff

    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    stem = target / f"gateway-{os.getpid()}"
    write_batches = handoff.InProcessHandoff._run

    def profiled_run(self) -> None:
        profile = cProfile.Profile()
        profile.enable()
        try:
            write_batches(self)
        finally:
            profile.disable()
            profile.dump_stats(f"{stem}.writer.prof")

    handoff.InProcessHandoff._run = profiled_run
    from wastetrail.cli import main

    profile = cProfile.Profile()
    profile.enable()
    try:
        main(["wastetrail", *argv])
    finally:
        profile.disable()
        profile.dump_stats(f"{stem}.loop.prof")


def _fleet(count: int, migrate: bool) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    identities = bench_identities(count)
    print(json.dumps([[identity.phone, identity.auth_code, identity.vehicle_id] for identity in identities]))


USAGE = """usage: python -m wastetrail.bench.telemetry_gateway COMMAND
  profiled OUT_DIR gateway [options]   the gateway under cProfile (see the module's docstring)
  fleet COUNT [--migrate]              make COUNT bench terminals on DATABASE_URL, print them as JSON"""

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "profiled":
        _profiled(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "fleet":
        _fleet(int(sys.argv[2]), "--migrate" in sys.argv[3:])
    else:
        sys.exit(USAGE)
