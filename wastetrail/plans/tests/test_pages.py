"""Plan pages: list, detail with its six parts and history, the draft form, file and discard."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wastetrail.plans.models import HandlingPlan, PlanStatus

pytestmark = pytest.mark.django_db


def test_the_list_and_detail_show_the_plan_and_its_history(client, cast, project, filed_plan):
    plan = filed_plan()
    client.force_login(cast.user("reg_officer"))
    listing = client.get(reverse("plans-list"))
    assert listing.status_code == 200 and project.name in listing.content.decode()
    page = client.get(reverse("plans-detail", args=[plan.pk])).content.decode()
    for part in ("1. Project and contractor", "2. Quantities and types", "4. Outgoing streams",
                 "5. Receiving sites", "6. Other matters", "Version history", "Filed"):
        assert part in page
    assert 'data-testid="file"' not in page  # a reader gets no buttons


def test_an_outsider_gets_a_404(client, cast, filed_plan):
    plan = filed_plan()
    client.force_login(cast.user("outsider"))
    assert client.get(reverse("plans-detail", args=[plan.pk])).status_code == 404
    assert client.post(reverse("plans-file", args=[plan.pk])).status_code == 404


def test_a_draft_is_created_edited_with_formsets_and_filed(client, cast, project, site):
    client.force_login(cast.user("construction_staff"))
    response = client.post(reverse("plans-create"), {"project": project.pk})
    assert response.status_code == 302
    plan = HandlingPlan.objects.get(project=project)
    form = {
        "contact_name": "吴施工", "contact_phone": "13807500001", "reduction_measures": "分类",
        "pollution_control_measures": "喷淋", "reuse_rate_target": "50", "other_matters": "",
        "quantities-TOTAL_FORMS": "2", "quantities-INITIAL_FORMS": "0",
        "quantities-0-category": "excavated_soil", "quantities-0-quantity_m3": "1000",
        # The empty second row as a browser sends it: the select keeps its initial mode.
        "streams-TOTAL_FORMS": "2", "streams-INITIAL_FORMS": "0", "streams-1-transport_mode": "sealed_truck",
        "streams-0-category": "excavated_soil", "streams-0-quantity_m3": "900",
        "streams-0-carrier": cast.org("transport").pk, "streams-0-site": site.pk,
        "streams-0-daily_start": "22:00", "streams-0-daily_end": "06:00", "streams-0-valid_from": "2026-03-01",
        "streams-0-valid_to": "2026-12-31", "streams-0-transport_mode": "sealed_truck", "streams-0-route": "江门大道",
    }
    too_much = form | {"streams-0-quantity_m3": "2000"}
    saved = client.post(reverse("plans-edit", args=[plan.pk]), too_much)
    assert saved.status_code == 302  # a draft may be inconsistent; filing refuses it
    client.post(reverse("plans-file", args=[plan.pk]))
    assert HandlingPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    assert client.post(reverse("plans-edit", args=[plan.pk]), form).status_code == 302
    assert client.post(reverse("plans-file", args=[plan.pk])).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FILED and plan.streams.get().quantity_m3 == 900
    assert client.get(reverse("plans-edit", args=[plan.pk])).status_code == 403


def test_a_draft_is_discarded_with_a_button(client, cast, make_draft):
    plan = make_draft()
    client.force_login(cast.user("construction_admin"))
    page = client.get(reverse("plans-detail", args=[plan.pk])).content.decode()
    assert 'data-testid="discard"' in page
    assert client.post(reverse("plans-discard", args=[plan.pk])).status_code == 302
    assert not HandlingPlan.objects.exists()


def test_the_edit_page_shows_service_errors_on_the_formset(client, cast, make_draft):
    plan = make_draft()
    client.force_login(cast.user("construction_admin"))
    response = client.post(reverse("plans-edit", args=[plan.pk]), {
        "contact_name": "x", "reuse_rate_target": "10",
        "quantities-TOTAL_FORMS": "2", "quantities-INITIAL_FORMS": "0",
        "quantities-0-category": "slurry", "quantities-0-quantity_m3": "1",
        "quantities-1-category": "slurry", "quantities-1-quantity_m3": "2",
        "streams-TOTAL_FORMS": "0", "streams-INITIAL_FORMS": "0",
    })
    assert response.status_code == 400 and "listed twice" in response.content.decode()
