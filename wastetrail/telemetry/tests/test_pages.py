"""The telemetry pages: the live map's page and its settings, a vehicle's track (period form, caps,
tables) and the terminal status list, in both languages, scoped by the user."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wastetrail.telemetry.models import Position
from wastetrail.telemetry.records import PositionFlag
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
    seed_positions,
    seed_terminal_status,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, cast):
    def as_user(username: str):
        client.force_login(cast.user(username))
        return client

    return as_user


def json_script(html: str, element_id: str) -> dict:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, element_id
    return json.loads(found.group(1))


def track_url(vehicle, **period) -> str:
    query = "&".join(f"{key}={value}" for key, value in period.items())
    return reverse("vehicle-track", args=[vehicle.pk]) + (f"?{query}" if query else "")


# --- live map -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["live-map", "terminal-status"])
def test_the_pages_send_anonymous_visitors_to_the_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


def test_the_live_map_page_carries_its_settings_and_legend(login):
    html = login("reg_officer").get(reverse("live-map")).content.decode()
    assert 'data-testid="live-map"' in html and "build/live.js" in html
    config = json_script(html, "live-config")
    assert config["liveUrl"] == "/api/telemetry/live"
    assert config["districtsUrl"] == reverse("map-layer", args=["districts"])
    assert config["trackUrl"] == "/vehicles/0/track/" and config["manifestUrl"] == "/manifests/0/"
    assert config["refreshMs"] == 5000
    assert [state["value"] for state in config["states"]] == ["offline", "alarm", "loaded", "moving", "stopped"]
    assert all(state["help"] for state in config["states"])


def test_the_live_map_speaks_chinese_by_default_and_english_when_asked(client, cast, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(cast.user("reg_officer"))
    chinese = client.get(reverse("live-map"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert json_script(chinese, "live-config")["language"] == "zh-hans"
    assert json_script(chinese, "live-config")["text"]["legend"] == "图例"  # shared with the map's catalogue
    english = client.get(reverse("live-map"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    config = json_script(english, "live-config")
    assert config["language"] == "en" and config["showEnglishNames"] is True
    assert config["states"][0]["label"] == "Offline"


def test_the_nav_and_home_offer_the_live_map_and_terminals_to_regulators_and_transport_companies(login):
    for username in ("reg_officer", "transport_admin"):
        html = login(username).get(reverse("home")).content.decode()
        assert f'href="{reverse("live-map")}"' in html
        assert f'href="{reverse("terminal-status")}"' in html
    html = login("construction_admin").get(reverse("home")).content.decode()
    assert f'href="{reverse("terminal-status")}"' not in html


# --- track ----------------------------------------------------------------------------------
def test_the_track_page_draws_the_period_and_lists_stops_alarms_and_points(login, make_truck):  # noqa: F811
    truck = make_truck()
    start = timezone.make_aware(dt.datetime(2026, 6, 12, 8, 0))
    seed_positions(truck, start, 60, each=lambda i: ({"speed_dkmh": 0} if 10 <= i < 40 else {})
                   | ({"flags": int(PositionFlag.ZERO), "lat_e6": 0, "lon_e6": 0} if i == 50 else {})
                   | ({"alarm": 1} if i == 5 else {}))
    response = login("reg_officer").get(track_url(truck, **{"from": "2026-06-12T08:00", "to": "2026-06-12T09:00"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert truck.plate in html and 'data-testid="track-map"' in html
    data = json_script(html, "track-data")
    assert len(data["points"]) == 60 and data["downsampled"] is False
    assert data["points"][50][data["columns"].index("flags")] == int(PositionFlag.ZERO)
    assert len(data["stops"]) == 1
    assert "2026-06-12 08:01:40" in html  # the stop starts at the tenth point (local time)
    assert "Emergency (SOS)" in html and "Position 0, 0" in html
    assert 'data-testid="downsampled"' not in html
    assert f'href="{reverse("vehicles-detail", args=[truck.pk])}"' in html


def test_without_a_period_the_track_page_shows_the_last_24_hours(login, make_truck):  # noqa: F811
    truck = make_truck()
    seed_positions(truck, timezone.now() - dt.timedelta(hours=2), 3)
    seed_positions(truck, timezone.now() - dt.timedelta(hours=30), 3)
    response = login("reg_officer").get(track_url(truck))
    assert response.status_code == 200
    assert len(json_script(response.content.decode(), "track-data")["points"]) == 3


@pytest.mark.parametrize(("period", "field", "says"), [
    ({"from": "2026-06-12T09:00", "to": "2026-06-12T08:00"}, "to", "after its start"),
    ({"from": "2026-06-01T00:00", "to": "2026-06-12T00:00"}, "to", "at most 7 days"),
    ({"from": "", "to": "2026-06-12T00:00"}, "from", "Give the start"),
    ({"from": "soon", "to": "2026-06-12T00:00"}, "from", "Enter a valid date/time"),
])
def test_a_bad_period_is_a_form_error_and_no_track(login, make_truck, period, field, says):  # noqa: F811
    truck = make_truck()
    response = login("reg_officer").get(track_url(truck, **period))
    html = response.content.decode()
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in html and says in html
    assert 'id="track-data"' not in html


def test_a_long_track_is_thinned_and_the_page_says_so(login, make_truck):  # noqa: F811
    truck = make_truck()
    start = timezone.make_aware(dt.datetime(2026, 6, 12, 0, 0))
    seed_positions(truck, start, 5200, step=dt.timedelta(seconds=5))
    response = login("reg_officer").get(track_url(truck, **{"from": "2026-06-12T00:00", "to": "2026-06-13T00:00"}))
    html = response.content.decode()
    assert 'data-testid="downsampled"' in html and "5200" in html
    data = json_script(html, "track-data")
    assert data["downsampled"] and len(data["points"]) <= 5001
    # The table is paginated: a hundred rows a page, the period kept in the links.
    assert html.count("<tr") < 150
    assert "from=2026-06-12T00%3A00&amp;to=2026-06-13T00%3A00&amp;page=2" in html


def test_another_companys_truck_has_no_track_page(login, fleets):  # noqa: F811
    fleet = fleets()
    assert login("transport_admin").get(track_url(fleet.theirs[0])).status_code == 404
    assert login("transport_admin").get(track_url(fleet.mine[0])).status_code == 200


def test_a_construction_unit_sees_its_loads_track_from_the_departure_without_the_fleet_record(
        login, departed):  # noqa: F811
    manifest = departed()
    departure = timezone.localtime(manifest.departed_at)
    seed_positions(manifest.vehicle, departure - dt.timedelta(minutes=10), 20, step=dt.timedelta(minutes=1))
    period = {"from": (departure - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
              "to": (departure + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    html = login("construction_staff").get(track_url(manifest.vehicle, **period)).content.decode()
    assert 'data-testid="shown-from"' in html
    assert len(json_script(html, "track-data")["points"]) == 10
    assert f'href="{reverse("vehicles-detail", args=[manifest.vehicle_id])}"' not in html


# --- terminals ------------------------------------------------------------------------------
def test_the_terminal_status_page_lists_filters_and_sorts(login, fleets):  # noqa: F811
    fleet = fleets(mine=3, theirs=1)
    moment = timezone.now()
    online, offline, never = (v.terminal for v in fleet.mine)
    seed_terminal_status(online, online=True, connected_at=moment, last_frame_at=moment,
                         remote_address="10.1.2.3:40000", imei="861234567890123", software_version="V2.1")
    seed_terminal_status(offline, online=False, connected_at=moment - dt.timedelta(days=2), disconnected_at=moment,
                         last_frame_at=moment - dt.timedelta(days=1), last_error="unreadable frame",
                         last_error_at=moment)
    client = login("transport_admin")
    html = client.get(reverse("terminal-status")).content.decode()
    order = [int(pk) for pk in re.findall(r'data-terminal-id="(\d+)"', html)]
    assert order == [online.pk, offline.pk, never.pk]  # last frame, newest first; never-connected last
    assert fleet.theirs[0].terminal.phone not in html
    assert "10.1.2.3:40000" in html and "unreadable frame" in html
    assert "IMEI 861234567890123" in html and "V2.1" in html and html.count('data-testid="terminal-identity"') == 1
    assert f'href="{reverse("vehicle-track", args=[fleet.mine[0].pk])}"' in html  # the plate opens its track
    assert 'data-testid="sort-last-frame"' in html and "order=last_frame" in html
    oldest_first = client.get(reverse("terminal-status"), {"order": "last_frame"}).content.decode()
    assert [int(pk) for pk in re.findall(r'data-terminal-id="(\d+)"', oldest_first)][:2] == [offline.pk, online.pk]
    only_never = client.get(reverse("terminal-status"), {"connection": "never"}).content.decode()
    assert re.findall(r'data-connection="(\w+)"', only_never) == ["never"]


def test_the_terminal_status_page_is_refused_to_parties_without_a_fleet(login):
    assert login("construction_admin").get(reverse("terminal-status")).status_code == 403
    assert login("driver").get(reverse("terminal-status")).status_code == 403


def test_the_terminal_status_page_costs_the_same_queries_for_two_terminals_and_for_thirty(login, fleets):  # noqa: F811
    client = login("reg_officer")
    fleets(mine=1, theirs=1)
    client.get(reverse("terminal-status"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("terminal-status"))
    fleets(mine=14, theirs=14)
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("terminal-status")).content.decode()
    assert html.count("data-terminal-id=") == 30
    assert len(few) == len(many)
    assert Position.objects.count() == 0  # a read, nothing written
