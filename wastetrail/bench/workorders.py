"""Issue 5's benchmark: the work-order queue and statistics pages with 1,000,000 orders stored
(PostgreSQL only; the SQLite run skips it).

The history is written by the database itself (one ``INSERT ... SELECT FROM generate_series``):
three years of orders over the seven districts and ~40 units (district bureaus, street offices,
the housing authority, a property manager), mostly closed, with the last ~90 days open in every
state, so that each unit has a few thousand orders in hand and the dispatch desk a few thousand
waiting. The monthly counters are then filled from the orders with one ``INSERT ... SELECT ...
GROUP BY`` (each event in the local month it happened), as the services would have kept them.

Timed through the Django test client as logged-in users (session, actor, selector, template):
``/workorders/?queue=mine`` for the busiest district bureau's handler and ``?queue=dispatch``
for the city's dispatcher (``workorder_queue_p95_ms_postgres``: the worse of the two p95s), and
``/workorders/stats/`` for the city (``workorder_stats_p95_ms_postgres``). The baseline is
``/healthz`` through the same client in the same run. Page 1 and page 50 must cost the same
number of queries (an AssertionError otherwise).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from wastetrail.bench.harness import Figure, record
from wastetrail.complaints.models import WorkOrder, WorkOrderCategory, WorkOrderMonthlyStat
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.testing import build_cast, make_uscc

# BENCH_WORKORDERS: fewer orders for a quick trial of the suite itself.
ORDERS = int(os.environ.get("BENCH_WORKORDERS", "1000000"))
HISTORY_DAYS = 3 * 365
OPEN_DAYS = 90  # orders younger than this are still being worked on
STREET_OFFICES_PER_DISTRICT = 4
REQUESTS = 60
BUSY_WEIGHT = 3  # the Pengjiang bureau takes three shares of the orders: the busiest handler


def _units(cast) -> list[tuple[int, int]]:
    """(unit id, district) shares of the orders: a bureau per district, its street offices,
    the cast's street office, property manager and housing authority (their orders spread)."""
    bureaus = {440703: cast.org("district_regulator")}
    serial = 500_000
    for district in DISTRICT_NAMES:
        if district not in bureaus:
            serial += 1
            bureaus[district] = Organisation.objects.create(
                name=f"{DISTRICT_NAMES[district][0]}城市管理和综合执法局", kind=OrganisationKind.REGULATOR,
                district=district, uscc=make_uscc(serial, district=district, government=True))
    shares = [(bureaus[440703].pk, 440703)] * BUSY_WEIGHT
    shares += [(bureau.pk, district) for district, bureau in bureaus.items() if district != 440703]
    for district in DISTRICT_NAMES:
        for n in range(1, STREET_OFFICES_PER_DISTRICT + 1):
            serial += 1
            office = Organisation.objects.create(
                name=f"{DISTRICT_NAMES[district][0]}第{n}街道办事处", kind=OrganisationKind.STREET_OFFICE,
                district=district, uscc=make_uscc(serial, district=district, government=True))
            shares.append((office.pk, district))
    districts = list(DISTRICT_NAMES)
    for n, key in enumerate(("street_office", "property_manager", "housing_authority")):
        shares.append((cast.org(key).pk, districts[n]))
    return shares


SEED_SQL = """
INSERT INTO {table} (number, tracking_code_hash, source, status, order_type, category_id, title, description,
    district, address, anonymous, complainant_name, complainant_phone, client_key, reported_plate,
    case_request_note, unit_id, received_at, dispatched_at, due_date, due_official, return_due, extended_days,
    warned_at, overdue_at, accepted_at, handled_at, handling_note, answered_at, answer, handling_working_days,
    answered_late, satisfaction, rated_at, rating_comment, closed_at, reopen_count, return_count, updated_at)
SELECT 'WB' || lpad(g::text, 10, '0'), md5(g::text), CASE WHEN g %% 3 = 0 THEN 'hotline' ELSE 'public' END,
    status, types[1 + g %% ncat], cats[1 + g %% ncat], titles[1 + g %% 5], titles[1 + g %% 5],
    districts[1 + (g::bigint * 7919) %% nunit], '', false, '', '', '', '', '',
    CASE WHEN status IN ('received', 'classified') THEN NULL ELSE units[1 + (g::bigint * 7919) %% nunit] END,
    received, CASE WHEN status IN ('received', 'classified') THEN NULL ELSE received + interval '1 hour' END,
    due, true, (received + interval '1 day')::date, 0,
    CASE WHEN status IN ('dispatched', 'accepted', 'handled') AND due - %(today)s::date BETWEEN 0 AND 1
         THEN %(now)s::timestamptz END,
    CASE WHEN status IN ('dispatched', 'accepted', 'handled') AND due < %(today)s::date
         THEN %(now)s::timestamptz END,
    CASE WHEN status NOT IN ('received', 'classified', 'returned', 'dispatched') THEN received + interval '3 hours' END,
    CASE WHEN status IN ('handled', 'answered', 'closed') THEN answered - interval '2 hours' END,
    CASE WHEN status IN ('handled', 'answered', 'closed') THEN '现场已处理' ELSE '' END,
    answered, CASE WHEN answered IS NOT NULL THEN '已处理完毕' ELSE '' END,
    CASE WHEN answered IS NOT NULL THEN (1 + g %% 25) * 5 / 7 END,
    CASE WHEN answered IS NOT NULL THEN answered::date > due END,
    CASE WHEN status = 'closed' AND g %% 10 < 8 THEN (ARRAY[3, 3, 3, 3, 3, 2, 2, 1])[1 + g %% 10] END,
    CASE WHEN status = 'closed' AND g %% 10 < 8 THEN answered + interval '1 day' END, '',
    CASE WHEN status = 'closed' THEN answered + interval '2 days' END,
    (g %% 37 = 0)::int, (g %% 53 = 0)::int, %(now)s::timestamptz
FROM (
    SELECT g, received, (received + interval '21 days')::date AS due,
        CASE WHEN age > {open_days} OR r >= 90 THEN 'closed' WHEN r < 2 THEN 'received' WHEN r < 3 THEN 'returned'
             WHEN r < 4 THEN 'classified' WHEN r < 30 THEN 'dispatched' WHEN r < 55 THEN 'accepted'
             WHEN r < 75 THEN 'handled' ELSE 'answered' END AS status,
        CASE WHEN age > {open_days} OR r >= 75
             THEN least(received + (1 + g %% 25) * interval '1 day', %(now)s::timestamptz - interval '1 hour') END
             AS answered,
        %(units)s::int[] AS units, %(districts)s::int[] AS districts, %(nunit)s AS nunit,
        %(cats)s::int[] AS cats, %(types)s::text[] AS types, %(ncat)s AS ncat,
        ARRAY['河边倾倒建筑垃圾', '夜间泥头车沿路抛洒', '工地围挡破损扬尘', '装修垃圾堆放点已满', '偷倒渣土'] AS titles
    FROM (
        SELECT g, received, extract(epoch FROM %(now)s::timestamptz - received) / 86400 AS age, g %% 100 AS r
        FROM (SELECT g, %(start)s::timestamptz + (g - 1) * %(step)s * interval '1 second' AS received
              FROM generate_series(1, %(orders)s) AS g) AS timed
    ) AS aged
) AS orders
"""

# Each counter in the local month of its event, as the services count them.
STATS_SQL = """
INSERT INTO {stat} (unit_id, month, dispatched, returned, answered, answered_on_time, handling_working_days,
                    rated, satisfaction_points, satisfied, reopened, overdue)
SELECT unit_id, month, sum(d), sum(rt), sum(a), sum(aot), sum(hwd), sum(rd), sum(sp), sum(st), sum(ro), sum(od)
FROM (
    SELECT unit_id, date_trunc('month', dispatched_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
           1 AS d, return_count AS rt, 0 AS a, 0 AS aot, 0 AS hwd, 0 AS rd, 0 AS sp, 0 AS st, 0 AS ro, 0 AS od
    FROM {table} WHERE dispatched_at IS NOT NULL
    UNION ALL
    SELECT unit_id, date_trunc('month', answered_at AT TIME ZONE 'Asia/Shanghai')::date,
           0, 0, 1, (NOT answered_late)::int, handling_working_days, 0, 0, 0, 0, 0
    FROM {table} WHERE answered_at IS NOT NULL
    UNION ALL
    SELECT unit_id, date_trunc('month', rated_at AT TIME ZONE 'Asia/Shanghai')::date,
           0, 0, 0, 0, 0, 1, satisfaction, (satisfaction >= 2)::int, reopen_count, 0
    FROM {table} WHERE rated_at IS NOT NULL
    UNION ALL
    SELECT unit_id, date_trunc('month', overdue_at AT TIME ZONE 'Asia/Shanghai')::date,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 1
    FROM {table} WHERE overdue_at IS NOT NULL
) AS events
GROUP BY unit_id, month
"""


def seed(orders: int = ORDERS) -> tuple[User, User]:
    """The orders and their counters; returns (the busiest bureau's handler, the city dispatcher)."""
    cast = build_cast()
    shares = _units(cast)
    categories = list(WorkOrderCategory.objects.values_list("pk", "default_type"))
    now = timezone.now()
    start = now - dt.timedelta(days=HISTORY_DAYS)
    params = {
        "now": now, "today": timezone.localdate(now), "start": start, "orders": orders,
        "step": HISTORY_DAYS * 86400 / orders, "units": [u for u, _d in shares],
        "districts": [d for _u, d in shares], "nunit": len(shares),
        "cats": [pk for pk, _t in categories], "types": [t for _pk, t in categories], "ncat": len(categories),
    }
    table, stat = WorkOrder._meta.db_table, WorkOrderMonthlyStat._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL.format(table=table, open_days=OPEN_DAYS), params)
        cursor.execute(STATS_SQL.format(table=table, stat=stat))
        cursor.execute("ANALYZE")
    handler = User.objects.create(username="bench_handler", display_name="蓬江办件")
    Membership.objects.create(user=handler, organisation=cast.org("district_regulator"), role=Role.STAFF)
    return handler, cast.user("reg_officer")


def _p95_ms(client: Client, path: str, query: dict | None = None, requests: int = REQUESTS) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, query or {})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.quantiles(times, n=20, method="inclusive")[18]


def _queries(client: Client, path: str, query: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, query).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}")
        return "\n".join(f"    {line}" for (line,) in cursor.fetchall())


def workorder_pages(out_dir: Path) -> list[Figure]:
    if connection.vendor != "postgresql":
        print("workorders: skipped on SQLite (the million-order figures are PostgreSQL's)")
        return []
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    started = time.perf_counter()
    handler_user, dispatcher_user = seed()
    seeded = time.perf_counter() - started
    handler, dispatcher, baseline_client = Client(), Client(), Client()
    handler.force_login(handler_user)
    dispatcher.force_login(dispatcher_user)
    baseline_client.force_login(dispatcher_user)
    pages = (("mine", handler, {"queue": "mine"}), ("dispatch", dispatcher, {"queue": "dispatch"}))
    for name, client, query in pages:  # the same queries for page 1 and page 50
        first, fiftieth = _queries(client, "/workorders/", query), _queries(client, "/workorders/",
                                                                            {**query, "page": 50})
        assert len(first) == len(fiftieth), (name, first, fiftieth)
        rows_sql = next(sql for sql in first if f'FROM "{WorkOrder._meta.db_table}"' in sql)
        print(f"workorders: ?queue={name}: {len(first)} queries on page 1 and on page 50; the rows:\n"
              f"{_explain(rows_sql)}")
    stats_queries = _queries(dispatcher, "/workorders/stats/", {})
    for _ in range(5):  # warm up: templates, translations, connection
        for _name, client, query in pages:
            client.get("/workorders/", query)
        dispatcher.get("/workorders/stats/")
        baseline_client.get("/healthz")
    baseline = _p95_ms(baseline_client, "/healthz")
    queue_p95 = {name: _p95_ms(client, "/workorders/", query) for name, client, query in pages}
    page50_p95 = {name: _p95_ms(client, "/workorders/", {**query, "page": 50}, 20) for name, client, query in pages}
    stats_p95 = _p95_ms(dispatcher, "/workorders/stats/")
    print(f"workorders: seeded {WorkOrder.objects.count():,} orders and {WorkOrderMonthlyStat.objects.count():,} "
          f"counter rows in {seeded:.0f} s; p95 ms: mine {queue_p95['mine']:.1f}, dispatch "
          f"{queue_p95['dispatch']:.1f} (page 50: mine {page50_p95['mine']:.1f}, dispatch "
          f"{page50_p95['dispatch']:.1f}), stats {stats_p95:.1f} ({len(stats_queries)} queries), "
          f"/healthz {baseline:.1f}")
    return [record("workorder_queue_p95_ms_postgres", max(queue_p95.values()), "ms", baseline, out_dir),
            record("workorder_stats_p95_ms_postgres", stats_p95, "ms", baseline, out_dir)]
