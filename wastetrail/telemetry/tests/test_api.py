"""The telemetry API (/api/telemetry/): live trucks with a cursor, one vehicle's live state and
track, the terminal list. Read-only, scoped by the caller, constant query counts."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture
from wastetrail.telemetry.live import offline_after
from wastetrail.telemetry.models import LoadState, Position, VehicleLiveState
from wastetrail.telemetry.records import PositionFlag
from wastetrail.telemetry.selectors import STATE_COLOURS, TruckState
from wastetrail.telemetry.tests.test_pages_support import (  # noqa: F401 - fixtures
    categories,
    departed,
    driver_with_login,
    fleets,
    issue,
    make_driver,
    make_project,
    make_ready_load,
    make_site,
    make_truck,
    make_vehicle,
    now,
    seed_live,
    seed_positions,
    seed_terminal_status,
)

pytestmark = pytest.mark.django_db
BASE = "/api/telemetry"
START = dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC)


def rows(body: dict) -> dict[int, dict]:
    """The compact answer's arrays as dicts by vehicle id."""
    return {row[0]: dict(zip(body["columns"], row, strict=True)) for row in body["vehicles"]}


def get(client, url: str, auth: dict, status: int = 200, **params) -> dict:
    response = client.get(url, params, **auth)
    assert response.status_code == status, response.content
    return response.json()


# --- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/live", "/vehicles/1/live", "/vehicles/1/track?from=2026-06-12T08:00&to="
                                  "2026-06-12T09:00", "/terminals"])
def test_every_operation_needs_a_login(client, path):
    assert client.get(BASE + path).status_code == 401


def test_a_transport_company_gets_its_trucks_and_terminals_and_not_anothers(client, cast, fleets, token_for):  # noqa: F811
    fleet = fleets()
    auth = token_for("transport_admin")
    assert set(rows(get(client, f"{BASE}/live", auth))) == {v.pk for v in fleet.mine}
    theirs = fleet.theirs[0].pk
    get(client, f"{BASE}/vehicles/{theirs}/live", auth, status=404)
    get(client, f"{BASE}/vehicles/{theirs}/track", auth, status=404, **{"from": "2026-06-12T08:00",
                                                                        "to": "2026-06-12T09:00"})
    terminals = get(client, f"{BASE}/terminals", auth)
    assert {t["id"] for t in terminals["items"]} == {v.terminal.pk for v in fleet.mine}


def test_terminals_are_refused_to_a_construction_unit(client, cast, fleets, token_for):  # noqa: F811
    fleets()
    body = get(client, f"{BASE}/terminals", token_for("construction_admin"), status=403)
    assert "transport companies" in body["detail"]


# --- live -----------------------------------------------------------------------------------
def test_live_gives_each_truck_its_state_and_the_legend_its_colours(client, cast, fleets, token_for):  # noqa: F811
    fleet = fleets(mine=5, theirs=0)
    moving, offline, silent, flagged, loaded = fleet.mine
    seed_live(moving, speed_dkmh=420)
    seed_live(offline, online=False)
    seed_live(silent, last_frame_at=timezone.now() - offline_after() - dt.timedelta(minutes=1))
    seed_live(flagged, flags=int(PositionFlag.IMPOSSIBLE_JUMP), speed_dkmh=420)
    seed_live(loaded, load=LoadState.FULL, speed_dkmh=420, cover_open=False, body_lifted=False)
    body = get(client, f"{BASE}/live", token_for("reg_officer"))
    trucks = rows(body)
    assert {pk: trucks[pk]["state"] for pk in trucks} == {
        moving.pk: "moving", offline.pk: "offline", silent.pk: "offline", flagged.pk: "alarm", loaded.pk: "loaded"}
    assert trucks[moving.pk]["speed"] == 42.0
    assert trucks[moving.pk]["plate"] == moving.plate
    assert body["companies"][str(moving.company_id)] == cast.org("transport").name
    assert (trucks[loaded.pk]["load"], trucks[loaded.pk]["cover"], trucks[loaded.pk]["lift"]) == ("full", False, False)
    colours = {entry["value"]: entry["colour"] for entry in body["states"]}
    assert colours == {state: STATE_COLOURS[state] for state in TruckState.values}
    assert colours["offline"] == "#868e96" and colours["alarm"] == "#e03131"
    assert body["full"] is True


def test_live_since_the_cursor_returns_only_what_changed(client, cast, fleets, token_for):  # noqa: F811
    fleet = fleets(mine=3, theirs=0)
    old = timezone.now() - dt.timedelta(minutes=2)
    for vehicle in fleet.mine:
        seed_live(vehicle, last_frame_at=old)
    auth = token_for("reg_officer")
    first = get(client, f"{BASE}/live", auth)
    assert len(first["vehicles"]) == 3
    seed_live(fleet.mine[1], speed_dkmh=500)  # a new frame, now
    changed = get(client, f"{BASE}/live", auth, since=first["cursor"])
    assert changed["full"] is False
    assert list(rows(changed)) == [fleet.mine[1].pk]
    assert rows(changed)[fleet.mine[1].pk]["state"] == "moving"
    assert changed["cursor"] >= first["cursor"]


def test_live_is_gzipped_for_a_client_that_accepts_it(client, cast, fleets, token_for):  # noqa: F811
    fleets(mine=20, theirs=0)
    response = client.get(f"{BASE}/live", HTTP_ACCEPT_ENCODING="gzip", **token_for("reg_officer"))
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.content))["vehicles"]) == 20


def test_a_bad_cursor_is_a_422_naming_since(client, cast, token_for):  # noqa: F811
    body = get(client, f"{BASE}/live", token_for("reg_officer"), status=422, since="yesterday")
    assert list(body["errors"]) == ["since"]


def test_live_runs_the_same_queries_for_two_trucks_and_for_forty(client, cast, fleets, token_for):  # noqa: F811
    auth = token_for("reg_officer")
    fleets(mine=1, theirs=1)
    get(client, f"{BASE}/live", auth)  # the token's first use is recorded; count a steady request
    with CaptureQueriesContext(connection) as few:
        assert len(get(client, f"{BASE}/live", auth)["vehicles"]) == 2
    fleets(mine=19, theirs=19)
    with CaptureQueriesContext(connection) as many:
        assert len(get(client, f"{BASE}/live", auth)["vehicles"]) == 40
    assert len(few) == len(many)


def test_one_vehicles_live_state_names_its_alarms_and_open_manifest(client, cast, departed, token_for):  # noqa: F811
    manifest = departed()
    seed_live(manifest.vehicle, alarm=(1 << 1) | (1 << 19), flags=int(PositionFlag.NOT_FIXED))
    body = get(client, f"{BASE}/vehicles/{manifest.vehicle_id}/live", token_for("construction_staff"))
    assert body["plate"] == manifest.vehicle.plate
    assert (body["state"], body["colour"]) == ("alarm", STATE_COLOURS["alarm"])
    assert body["alarm_names"] == ["Over-speed", "Parked too long"]
    assert body["flag_names"] == ["No satellite fix"]
    assert (body["open_manifest_id"], body["open_manifest_number"]) == (manifest.pk, manifest.number)


def test_a_vehicle_that_never_reported_is_offline_without_a_position(client, cast, make_truck, token_for):  # noqa: F811
    truck = make_truck()
    body = get(client, f"{BASE}/vehicles/{truck.pk}/live", token_for("reg_officer"))
    assert (body["has_reported"], body["state"], body["lat"]) == (False, "offline", None)


# --- track ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "field", "says"), [
    ({}, "from", "Give the start"),
    ({"from": "2026-06-12T08:00"}, "to", "Give the end"),
    ({"from": "2026-06-12T09:00", "to": "2026-06-12T08:00"}, "to", "after its start"),
    ({"from": "2026-06-01T00:00", "to": "2026-06-12T00:00"}, "to", "at most 7 days"),
    ({"from": "last tuesday", "to": "2026-06-12T08:00"}, "from", ""),
])
def test_a_bad_period_is_a_422_naming_the_field_and_changes_nothing(client, cast, make_truck, token_for,  # noqa: F811
                                                                    params, field, says):
    truck = make_truck()
    seed_live(truck)
    seed_positions(truck, START, 5)
    before = (Position.objects.count(), list(VehicleLiveState.objects.values()))
    body = get(client, f"{BASE}/vehicles/{truck.pk}/track", token_for("reg_officer"), status=422, **params)
    assert field in body["errors"]
    assert says in " ".join(body["errors"][field])
    assert (Position.objects.count(), list(VehicleLiveState.objects.values())) == before


def test_a_track_gives_its_points_stops_and_alarms(client, cast, make_truck, token_for):  # noqa: F811
    truck = make_truck()
    # Ten minutes driving, five standing (a stop), five more driving; one flagged point, an alarm.
    seed_positions(truck, START, 120, each=lambda i: (
        {"speed_dkmh": 0, "lat_e6": 22_600_000, "lon_e6": 113_100_000} if 60 <= i < 90 else {})
        | ({"flags": int(PositionFlag.IMPOSSIBLE_JUMP)} if i == 100 else {})
        | ({"alarm": 1 << 1} if i in (10, 11) else {}))
    body = get(client, f"{BASE}/vehicles/{truck.pk}/track", token_for("reg_officer"),
               **{"from": "2026-06-12T16:00", "to": "2026-06-12T17:00"})  # China time = 08:00-09:00 UTC
    assert body["from"] == "2026-06-12T08:00:00+00:00"
    assert (body["total_points"], body["flagged_points"], body["downsampled"]) == (120, 1, False)
    assert body["columns"] == ["t", "lat", "lon", "speed", "heading", "flags", "alarm"]
    assert len(body["points"]) == 120
    assert body["points"][100][5] == int(PositionFlag.IMPOSSIBLE_JUMP)
    assert [(s["start"], s["minutes"]) for s in body["stops"]] == [("2026-06-12T08:10:00+00:00", 5)]
    assert [(a["start"], a["end"], a["names"]) for a in body["alarms"]] == [
        ("2026-06-12T08:01:40+00:00", "2026-06-12T08:01:50+00:00", ["Over-speed"])]


def test_a_track_beyond_the_cap_says_it_is_downsampled(client, cast, make_truck, token_for, monkeypatch):  # noqa: F811
    truck = make_truck()
    seed_positions(truck, START, 6000, step=dt.timedelta(seconds=5))
    body = get(client, f"{BASE}/vehicles/{truck.pk}/track", token_for("reg_officer"),
               **{"from": START.isoformat(), "to": (START + dt.timedelta(days=1)).isoformat()})
    assert body["total_points"] == 6000
    assert body["downsampled"] is True and body["cap"] == 5000
    assert 2900 <= len(body["points"]) <= 5001  # every second point, and the last


def test_a_track_costs_the_same_queries_for_ten_points_and_for_six_thousand(client, cast, make_truck,  # noqa: F811
                                                                          token_for):  # noqa: F811
    auth = token_for("reg_officer")
    short, long = make_truck(), make_truck()
    seed_positions(short, START, 10)
    seed_positions(long, START, 6000, step=dt.timedelta(seconds=5))
    period = {"from": START.isoformat(), "to": (START + dt.timedelta(days=1)).isoformat()}
    get(client, f"{BASE}/vehicles/{short.pk}/track", auth, **period)
    counts = []
    for truck in (short, long):
        with CaptureQueriesContext(connection) as queries:
            get(client, f"{BASE}/vehicles/{truck.pk}/track", auth, **period)
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- terminals ------------------------------------------------------------------------------
def test_terminals_are_paginated_filtered_and_show_the_gateways_view(client, cast, fleets, token_for):  # noqa: F811
    fleet = fleets(mine=3, theirs=0)
    moment = timezone.now()
    online, offline, never = (v.terminal for v in fleet.mine)
    seed_terminal_status(online, online=True, connected_at=moment, last_frame_at=moment,
                         remote_address="10.0.0.8:50211", reports=42, imei="861234567890123", software_version="V2.1")
    seed_terminal_status(offline, online=False, connected_at=moment - dt.timedelta(days=1), disconnected_at=moment,
                         last_frame_at=moment - dt.timedelta(hours=1), last_error="checksum mismatch",
                         last_error_at=moment, bad_checksum=3)
    auth = token_for("transport_admin")
    body = get(client, f"{BASE}/terminals", auth, limit=2)
    assert body["count"] == 3 and len(body["items"]) == 2
    assert [item["id"] for item in body["items"]] == [online.pk, offline.pk]
    first = body["items"][0]
    assert (first["connection"], first["remote_address"], first["reports"]) == ("online", "10.0.0.8:50211", 42)
    assert first["vehicle_plate"] == fleet.mine[0].plate
    assert (first["imei"], first["software_version"]) == ("861234567890123", "V2.1")
    assert body["items"][1]["imei"] == ""  # a 2013 terminal does not say
    only_offline = get(client, f"{BASE}/terminals", auth, connection="offline")["items"]
    assert [(t["id"], t["last_error"], t["bad_checksum"]) for t in only_offline] == [
        (offline.pk, "checksum mismatch", 3)]
    assert [t["id"] for t in get(client, f"{BASE}/terminals", auth, connection="never")["items"]] == [never.pk]
    get(client, f"{BASE}/terminals", auth, status=422, connection="sometimes")


def test_terminals_run_the_same_queries_for_two_and_for_thirty(client, cast, fleets, token_for):  # noqa: F811
    auth = token_for("reg_officer")
    fleets(mine=1, theirs=1)
    get(client, f"{BASE}/terminals", auth)
    with CaptureQueriesContext(connection) as few:
        assert get(client, f"{BASE}/terminals", auth)["count"] == 2
    fleets(mine=14, theirs=14)
    with CaptureQueriesContext(connection) as many:
        assert get(client, f"{BASE}/terminals", auth)["count"] == 30
    assert len(few) == len(many)
