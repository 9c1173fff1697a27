"""Rulebook pages: everyone logged in reads the overview; only a regulator administrator sees the
edit controls and gets through the forms; form errors land on the field and change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.rulebook.calendar import package_official_years
from wastetrail.core.rulebook.models import CalendarOverride, DeadlineRule, Violation, WasteCategory

pytestmark = pytest.mark.django_db

@pytest.fixture
def as_user(client, cast):
    def login(username: str):
        client.force_login(cast.user(username))
        return client

    return login


@pytest.mark.parametrize("username", ["reg_admin", "reg_officer", "outsider", "driver"])
def test_everyone_logged_in_reads_the_overview(as_user, username, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the default interface shows the Chinese names
    response = as_user(username).get(reverse("rulebook"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "工程渣土" in page and "装修垃圾" in page
    assert "第30条" in page and "100000–1000000" in page  # zh-Hans groups no digits
    assert "work_order_complaint" in page
    edit_controls = 'data-testid="create-violation"' in page
    assert edit_controls is (username == "reg_admin")


def test_the_overview_shows_this_and_next_years_calendar_status(as_user):
    page = as_user("reg_officer").get(reverse("rulebook")).content.decode()
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1):
        official = year in package_official_years()
        row = page.split(f'data-testid="calendar-year-{year}"', 1)[1].split("</tr>", 1)[0]
        assert ('data-testid="calendar-official"' in row) is official
        assert ('data-testid="calendar-computed"' in row) is (not official)


def test_anonymous_visitors_are_sent_to_log_in(client, cast):
    response = client.get(reverse("rulebook"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("name", ["rulebook-categories", "rulebook-violations", "rulebook-deadlines",
                                  "rulebook-overrides", "rulebook-notices"])
def test_list_pages_render_for_readers_and_creating_is_refused(as_user, name):
    client = as_user("reg_officer")
    assert client.get(reverse(f"{name}-list")).status_code == 200
    assert client.get(reverse(f"{name}-create")).status_code == 403


def test_detail_pages_render(as_user):
    client = as_user("outsider")
    violation = Violation.objects.get(code="nat_air_art115_uncovered")
    page = client.get(reverse("rulebook-violations-detail", args=[violation.pk])).content.decode()
    assert "第115条第1款第2项" in page
    assert 'data-testid="edit"' not in page
    assert client.get(reverse("rulebook-violations-edit", args=[violation.pk])).status_code == 403


def test_an_admin_edits_a_deadline_through_the_form(as_user):
    client = as_user("reg_admin")
    rule = DeadlineRule.objects.get(code="approval_review_emission")
    before = AuditEntry.objects.count()
    response = client.post(reverse("rulebook-deadlines-edit", args=[rule.pk]), {
        "code": rule.code, "name_zh": rule.name_zh, "name_en": rule.name_en, "working_days": 3,
        "legal_max_working_days": 20, "legal_basis": rule.legal_basis,
    })
    assert response.status_code == 302
    assert DeadlineRule.objects.get(pk=rule.pk).working_days == 3
    assert AuditEntry.objects.count() == before + 1


def test_the_code_field_cannot_be_changed_through_the_form(as_user):
    client = as_user("reg_admin")
    category = WasteCategory.objects.get(code="slurry")
    response = client.post(reverse("rulebook-categories-edit", args=[category.pk]), {
        "code": "mud", "name_zh": "工程泥浆", "name_en": "Slurry", "density_t_per_m3": "1.35",
        "sort_order": 20, "is_active": "on",
    })
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.code, category.density_t_per_m3) == ("slurry", category.density_t_per_m3)
    assert str(category.density_t_per_m3) == "1.35"


def test_form_errors_land_on_the_field_and_change_nothing(as_user):
    client = as_user("reg_admin")
    before = (Violation.objects.count(), AuditEntry.objects.count())
    response = client.post(reverse("rulebook-violations-create"), {
        "code": "jm_test_bad", "title_zh": "坏", "title_en": "Bad", "legal_basis": "x", "article": "1",
        "fine_min_yuan": 9000, "fine_max_yuan": 1000,
    })
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-fine_max_yuan"' in page
    assert 'data-testid="form-errors"' not in page  # said once, on the field
    assert (Violation.objects.count(), AuditEntry.objects.count()) == before


def test_an_admin_enters_and_deletes_an_override(as_user):
    client = as_user("reg_admin")
    response = client.post(reverse("rulebook-overrides-create"),
                           {"date": "2027-02-06", "is_working_day": "on", "note": "春节调休"})
    assert response.status_code == 302
    override = CalendarOverride.objects.get()
    page = client.get(reverse("rulebook-calendar-year", args=[2027])).content.decode()
    assert "春节调休" in page
    assert client.get(reverse("rulebook-overrides-delete", args=[override.pk])).status_code == 405
    assert client.post(reverse("rulebook-overrides-delete", args=[override.pk])).status_code == 302
    assert not CalendarOverride.objects.exists()


def test_a_reader_cannot_delete_an_override(as_user, cast):
    override = CalendarOverride.objects.create(date="2027-02-06", is_working_day=True)
    response = as_user("reg_officer").post(reverse("rulebook-overrides-delete", args=[override.pk]))
    assert response.status_code == 403
    assert CalendarOverride.objects.filter(pk=override.pk).exists()


def test_a_calendar_year_page_marks_years_without_official_data(as_user):
    client = as_user("reg_officer")
    official = client.get(reverse("rulebook-calendar-year", args=[2026])).content.decode()
    assert 'data-testid="calendar-official"' in official
    assert "2026-02-14" in official
    future = client.get(reverse("rulebook-calendar-year", args=[2099])).content.decode()
    assert 'data-testid="calendar-computed"' in future
    assert client.get(reverse("rulebook-calendar-year", args=[2300])).status_code == 200
