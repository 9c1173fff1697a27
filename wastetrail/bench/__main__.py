"""Run every benchmark: `python -m wastetrail.bench` (what `make bench` calls), or one suite:
`python -m wastetrail.bench --suite manifests` (the names below; the other figures are kept).

Database benchmarks run once per database in a child process each: SQLite in a temporary file,
PostgreSQL in a throw-away database `wastetrail_bench` on BENCH_POSTGRES (default: the local
server, skipped with a message when it does not answer). The platform's own data is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
OUT_DIR = PROJECT / "var" / "bench"
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "wastetrail_bench")  # another name lets two runs share a server
# The suites by name (suites.py runs them; it can be imported only once Django is set up).
PURE_SUITES = ("districts", "jt808")
DATABASE_SUITES = ("audit", "manifests", "positions", "gateway", "connections", "workorders")


def _setup_django(database_url: str) -> None:
    os.environ["DEBUG"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "wastetrail.settings"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # DEBUG=1 only lets the settings load (no SECRET_KEY needed); measure as production runs,
    # without the debug cursor that records every query.
    settings.DEBUG = False

    call_command("migrate", verbosity=0)


def _postgres_admin(sql: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql)
        return True
    except Exception as exc:  # no server: report and go on without the PostgreSQL figures
        print(f"PostgreSQL benchmarks skipped: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return False


def run_child(which: str, only: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if which == "postgres":
            _setup_django(f"{POSTGRES_SERVER}/{BENCH_DB}")
        else:
            _setup_django(f"sqlite:///{tmp}/bench.sqlite3")
        from wastetrail.bench import suites  # needs Django set up

        if which == "pure":
            suites.run_pure_suites(OUT_DIR, only)
        else:
            suites.run_database_suites(OUT_DIR, only)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["sqlite", "postgres", "pure"])
    parser.add_argument("--suite", choices=[*PURE_SUITES, *DATABASE_SUITES],
                        help="run only this suite (its figures are rewritten, the others kept)")
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.suite)
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if args.suite is None:
        for old in OUT_DIR.glob("*.json"):
            old.unlink()
    children = []
    if args.suite in (None, *PURE_SUITES):
        children.append("pure")
    if args.suite in (None, *DATABASE_SUITES):
        children.append("sqlite")
        if _postgres_admin(f"DROP DATABASE IF EXISTS {BENCH_DB}") and _postgres_admin(f"CREATE DATABASE {BENCH_DB}"):
            children.append("postgres")
    suite = ["--suite", args.suite] if args.suite else []
    try:
        for child in children:
            subprocess.run([sys.executable, "-m", "wastetrail.bench", "--child", child, *suite], check=True,
                           cwd=PROJECT)
    finally:
        if "postgres" in children:
            _postgres_admin(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    for path in sorted(OUT_DIR.glob("*.json")):
        f = json.loads(path.read_text())
        print(f"{f['name']:<36} {f['value']:>12,.1f} {f['unit']:<10} baseline {f['baseline']:>12,.1f}"
              f"  ratio {f['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
