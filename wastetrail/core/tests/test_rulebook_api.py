"""The rulebook API at /api/rulebook/: reads for everyone logged in, writes for regulator admins,
field errors as 422, and the calendar's arithmetic."""

from __future__ import annotations

import pytest

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.rulebook.calendar import package_official_years
from wastetrail.core.rulebook.models import CalendarOverride, DeadlineRule, Violation, WasteCategory

pytestmark = pytest.mark.django_db

BASE = "/api/rulebook"


@pytest.fixture
def as_user(client, cast):
    def login(username: str):
        client.force_login(cast.user(username))
        return client

    return login


def post(client, url: str, data: dict):
    return client.post(f"{BASE}{url}", data, content_type="application/json")


def patch(client, url: str, data: dict):
    return client.patch(f"{BASE}{url}", data, content_type="application/json")


def test_anonymous_requests_get_401(client, cast):
    assert client.get(f"{BASE}/categories").status_code == 401
    assert client.get(f"{BASE}/calendar/add-working-days?start=2025-09-30&days=5").status_code == 401


def test_any_logged_in_user_lists_the_rulebook(as_user):
    client = as_user("outsider")
    categories = client.get(f"{BASE}/categories").json()
    assert categories["count"] == 5
    assert categories["items"][0] == {"id": categories["items"][0]["id"], "code": "excavated_soil",
                                      "name_zh": "工程渣土", "name_en": "Excavated soil",
                                      "density_t_per_m3": "1.80", "sort_order": 10, "is_active": True}
    assert client.get(f"{BASE}/violations?q=第30条").json()["count"] == 4
    assert client.get(f"{BASE}/deadlines/work_order_consultation").json()["working_days"] == 2
    assert client.get(f"{BASE}/violations/no_such_code").status_code == 404


def test_a_regulator_admin_creates_and_patches(as_user):
    client = as_user("reg_admin")
    before = AuditEntry.objects.count()
    created = post(client, "/violations", {
        "code": "jm_test_overload", "title_zh": "超载运输", "title_en": "Overloaded truck",
        "legal_basis": "测试依据", "article": "第9条", "fine_min_yuan": 500, "fine_max_yuan": 2_000,
    })
    assert created.status_code == 201, created.json()
    assert created.json()["daily_penalty_allowed"] is False
    patched = patch(client, "/violations/jm_test_overload", {"fine_max_yuan": 3_000})
    assert patched.status_code == 200
    assert patched.json()["fine_max_yuan"] == 3_000
    assert Violation.objects.get(code="jm_test_overload").fine_max_yuan == 3_000
    assert AuditEntry.objects.count() == before + 2


@pytest.mark.parametrize("username", ["reg_officer", "outsider"])
def test_others_get_403_and_nothing_changes(as_user, username):
    client = as_user(username)
    before = (list(WasteCategory.objects.values()), list(DeadlineRule.objects.values()), AuditEntry.objects.count())
    assert post(client, "/categories", {"code": "mud", "name_zh": "泥", "name_en": "Mud",
                                        "density_t_per_m3": "1.2"}).status_code == 403
    assert patch(client, "/categories/slurry", {"density_t_per_m3": "1.1"}).status_code == 403
    assert patch(client, "/deadlines/work_order_complaint", {"working_days": 30}).status_code == 403
    assert post(client, "/calendar/overrides", {"date": "2027-02-06", "is_working_day": True}).status_code == 403
    assert (list(WasteCategory.objects.values()), list(DeadlineRule.objects.values()),
            AuditEntry.objects.count()) == before


def test_bad_input_is_422_with_the_field_and_changes_nothing(as_user):
    client = as_user("reg_admin")
    before = (Violation.objects.count(), AuditEntry.objects.count())
    response = post(client, "/violations", {
        "code": "jm_test_bad", "title_zh": "坏", "title_en": "Bad", "legal_basis": "x", "article": "1",
        "fine_min_yuan": 9_000, "fine_max_yuan": 1_000,
    })
    assert response.status_code == 422
    assert "fine_max_yuan" in response.json()["errors"]
    response = patch(client, "/deadlines/approval_review_transport", {"working_days": 0})
    assert response.status_code == 422
    assert "working_days" in response.json()["errors"]
    response = post(client, "/categories", {"code": "slurry", "name_zh": "泥浆", "name_en": "Slurry",
                                            "density_t_per_m3": "1.3"})
    assert response.status_code == 422
    assert "code" in response.json()["errors"]
    assert (Violation.objects.count(), AuditEntry.objects.count()) == before
    assert DeadlineRule.objects.get(code="approval_review_transport").working_days == 5


def test_add_working_days_returns_the_date_and_the_official_flag(as_user):
    client = as_user("reg_officer")
    body = client.get(f"{BASE}/calendar/add-working-days?start=2025-09-30&days=5").json()
    assert body == {"start": "2025-09-30", "days": 5, "date": "2025-10-14", "official": True,
                    "unofficial_years": []}
    far = client.get(f"{BASE}/calendar/add-working-days?start=2099-12-28&days=5").json()
    assert far["official"] is False
    assert far["unofficial_years"] == [2099, 2100]


@pytest.mark.parametrize("query", ["start=2025-09-30&days=-1", "start=2025-09-30&days=100000",
                                   "start=not-a-date&days=3", "start=2025-09-30"])
def test_add_working_days_refuses_bad_parameters(as_user, query):
    assert as_user("reg_officer").get(f"{BASE}/calendar/add-working-days?{query}").status_code == 422


def test_working_days_between(as_user):
    body = as_user("outsider").get(f"{BASE}/calendar/working-days-between?start=2026-02-13&end=2026-02-28").json()
    assert body["working_days"] == 6  # Feb 14 (Sat, worked), 24, 25, 26, 27, 28 (Sat, worked)
    assert body["official"] is True


def test_a_calendar_year_lists_its_non_standard_days(as_user):
    client = as_user("reg_admin")
    post(client, "/calendar/overrides", {"date": "2026-03-03", "is_working_day": False, "note": "台风停工"})
    body = client.get(f"{BASE}/calendar/2026").json()
    assert (body["official"], body["source"], body["notice_source"]) == (True, "package", "")
    days = {d["date"]: d for d in body["days"]}
    assert days["2026-02-14"]["is_working_day"] is True
    assert days["2026-02-14"]["source"] == "package"
    assert days["2026-03-03"] == {"date": "2026-03-03", "is_working_day": False, "name_zh": "台风停工",
                                  "name_en": "台风停工", "source": "override"}


def test_a_year_becomes_official_when_its_notice_is_recorded(as_user):
    client = as_user("reg_admin")
    future = max(package_official_years()) + 1
    assert client.get(f"{BASE}/calendar/{future}").json()["official"] is False
    response = post(client, "/calendar/notices", {"year": future, "source": "国办发明电〔2026〕7号"})
    assert response.status_code == 201
    assert client.get(f"{BASE}/calendar/notices/{future}").json()["source"] == "国办发明电〔2026〕7号"
    body = client.get(f"{BASE}/calendar/{future}").json()
    assert body["official"] is True
    assert (body["source"], body["notice_source"]) == ("notice", "国办发明电〔2026〕7号")
    assert client.delete(f"{BASE}/calendar/notices/{future}").status_code == 204
    assert client.get(f"{BASE}/calendar/{future}").json()["official"] is False


def test_overrides_are_patched_and_deleted_by_date(as_user):
    client = as_user("reg_admin")
    assert post(client, "/calendar/overrides", {"date": "2027-02-06", "is_working_day": True}).status_code == 201
    assert patch(client, "/calendar/overrides/2027-02-06", {"note": "春节调休"}).json()["note"] == "春节调休"
    assert as_user("outsider").get(f"{BASE}/calendar/overrides/2027-02-06").json()["is_working_day"] is True
    client = as_user("reg_admin")
    assert client.get(f"{BASE}/calendar/overrides?year=2027").json()["count"] == 1
    assert client.get(f"{BASE}/calendar/overrides?year=2026").json()["count"] == 0
    assert client.delete(f"{BASE}/calendar/overrides/2027-02-06").status_code == 204
    assert not CalendarOverride.objects.exists()
    assert client.delete(f"{BASE}/calendar/overrides/2027-02-06").status_code == 404
