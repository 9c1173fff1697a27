"""Reconciliation: planned vs issued vs in transit vs received vs outflow per category, built from
loads that went through the services; redirects never counted twice; the tolerance boundary;
unplanned categories; site counters against their manifests; who sees what; constant queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook import services as rulebook_services
from wastetrail.core.rulebook.models import RulebookParameter
from wastetrail.core.rulebook.selectors import PLAN_OUTFLOW_TOLERANCE_PERCENT
from wastetrail.manifests import reconciliation, services
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.plans import services as plan_services
from wastetrail.registry.models import ReceivingSite
from wastetrail.registry.tests.conftest import XINHUI, token_for  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def deliver(cast, now, issue):
    """One load through the services: issued, departed, arrived and received (or stopped early)."""

    def make(load, *, outcome: str | None = "accepted", stop: str | None = None, **receipt) -> Manifest:
        estimated = receipt.pop("estimated_m3", D("18"))
        manifest = issue(load, estimated_m3=estimated)
        if stop == "issued":
            return manifest
        manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=manifest, now=now)
        if stop == "departed":
            return manifest
        manifest = services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest, now=now)
        return services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest, outcome=outcome,
                                         now=now, **receipt)

    return make


def redirect_and_accept(cast, now, manifest, site, *, stop: str | None = None, **receipt) -> Manifest:
    moved = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest, site=site, now=now)
    if stop == "issued":
        return moved
    moved = services.manifest_depart(actor=cast.actor("driver"), manifest=moved, now=now)
    moved = services.manifest_arrive(actor=cast.actor("site_operator"), manifest=moved, now=now)
    return services.manifest_receive(actor=cast.actor("site_operator"), manifest=moved, outcome="accepted",
                                     now=now, **receipt)


def refile(cast, load, quantities: dict[str, D], *, streams: bool = True):
    """File a new plan version with these planned quantities (m³); the soil stream follows."""
    today = timezone.localdate()
    stream_rows = [{
        "category": "excavated_soil", "quantity_m3": quantities.get("excavated_soil", D("0")),
        "carrier": cast.org("transport"), "site": site, "daily_start": dt.time(22, 0),
        "daily_end": dt.time(6, 0), "valid_from": today - dt.timedelta(days=1),
        "valid_to": today + dt.timedelta(days=90), "transport_mode": "sealed_truck", "route": "滨江大道",
    } for site in load.sites] if streams else []
    actor = cast.actor("construction_admin")
    draft = plan_services.plan_draft_create(
        actor=actor, project=load.project, streams=stream_rows,
        quantities=[{"category": code, "quantity_m3": m3} for code, m3 in quantities.items()])
    return plan_services.plan_file(actor=actor, plan=draft)


def soil(result) -> reconciliation.CategoryFigures:
    return next(row for row in result.rows if row.category.code == "excavated_soil")


def set_tolerance(cast, value) -> None:
    rulebook_services.parameter_update(
        actor=cast.actor("reg_admin"), value=value,
        parameter=RulebookParameter.objects.get(code=PLAN_OUTFLOW_TOLERANCE_PERCENT))


# --- figures --------------------------------------------------------------------------------
def test_figures_for_a_realistic_mix_of_loads(cast, now, make_ready_load, deliver, client):
    load = make_ready_load(extra_sites=1)
    first, second = load.sites
    deliver(load, volume_m3=D("18"))                                           # accepted, 18 m³
    cancelled = deliver(load, stop="issued")
    services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=cancelled, reason="改期", now=now)
    partial = deliver(load, outcome="partially_refused", gross_t=D("40"), tare_t=D("10"),  # 30 t, 9 t refused
                      refused_quantity=D("9"), reason="混有生活垃圾")
    redirect_and_accept(cast, now, partial, second, gross_t=D("19"), tare_t=D("10"))  # the 9 t accepted
    deliver(load, outcome="refused", volume_m3=D("18"), reason="含水率过高")      # 18 m³ refused
    on_road = deliver(load, stop="issued", estimated_m3=D("20"))

    actor = cast.actor("reg_officer")
    row = soil(reconciliation.project_reconciliation(actor=actor, pk=load.project.pk))
    assert (row.planned_m3, row.planned_t) == (D("10000.00"), D("18000.00"))
    assert (row.issued_count, row.issued_m3, row.issued_t) == (4, D("74.00"), D("133.20"))
    assert (row.redirect_count, row.redirect_m3) == (1, D("5.00"))
    assert (row.transit_count, row.transit_m3, row.transit_t) == (1, D("20.00"), D("36.00"))
    # Accepted: 18 m³ + 21 t (11.67 m³) + 9 t at the second site (5.00 m³).
    assert (row.received_count, row.received_m3, row.received_t) == (4, D("34.67"), D("62.40"))
    assert (row.refused_m3, row.refused_t) == (D("23.00"), D("41.40"))
    # Left the project: 18 m³ + 30 t (16.67 m³) + 18 m³; the issued load has not left yet.
    assert (row.outflow_m3, row.outflow_t) == (D("52.67"), D("94.80"))
    assert not row.flagged

    services.manifest_depart(actor=cast.actor("driver"), manifest=on_road, now=now)
    row = soil(reconciliation.project_reconciliation(actor=actor, pk=load.project.pk))
    assert (row.outflow_m3, row.outflow_t) == (D("72.67"), D("130.80"))  # departed: by its estimate

    for site, used in ((first, D("29.67")), (second, D("5.00"))):
        result = reconciliation.site_reconciliation(actor=actor, pk=site.pk)
        assert result.used_capacity_m3 == used == result.accepted_m3
        assert result.agrees and result.mismatch_m3 == 0
        assert result.remaining_m3 == D("500000") - used

    client.force_login(cast.user("reg_officer"))
    page = client.get(reverse("reconciliation-project", args=[load.project.pk])).content.decode()
    line = page.split('data-testid="category-excavated_soil"', 1)[1].split("</tr>", 1)[0]
    assert "1 redirect (5.00 m³)" in line and "72.67" in line and "34.67" in line


def test_a_redirected_load_counts_once_in_the_outflow(cast, now, make_ready_load, deliver):
    load = make_ready_load(extra_sites=1)
    refused = deliver(load, outcome="refused", volume_m3=D("18"), reason="含水率过高")
    actor = cast.actor("reg_officer")
    before = soil(reconciliation.project_reconciliation(actor=actor, pk=load.project.pk)).outflow_m3
    moved = redirect_and_accept(cast, now, refused, load.sites[1], stop="issued")
    services.manifest_depart(actor=cast.actor("driver"), manifest=moved, now=now)
    row = soil(reconciliation.project_reconciliation(actor=actor, pk=load.project.pk))
    assert before == row.outflow_m3 == D("18.00")
    assert (row.issued_count, row.redirect_count, row.transit_count) == (1, 1, 1)


def test_cancelled_manifests_never_count(cast, now, make_ready_load, deliver):
    load = make_ready_load()
    manifest = deliver(load, stop="issued")
    services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=manifest, reason="改期", now=now)
    row = soil(reconciliation.project_reconciliation(actor=cast.actor("reg_officer"), pk=load.project.pk))
    assert (row.issued_count, row.issued_m3, row.transit_count, row.outflow_m3) == (0, 0, 0, 0)


# --- flags ----------------------------------------------------------------------------------
def test_the_tolerance_boundary_and_changing_the_parameter(cast, make_ready_load, deliver):
    load = make_ready_load()
    refile(cast, load, {"excavated_soil": D("36")})  # limit at 10 %: 39.60 m³
    deliver(load, volume_m3=D("20"))
    deliver(load, volume_m3=D("19.60"))
    actor = cast.actor("reg_officer")

    def flagged() -> bool:
        result = reconciliation.project_reconciliation(actor=actor, pk=load.project.pk)
        assert result.flagged is soil(result).flagged
        return result.flagged

    assert soil(reconciliation.project_reconciliation(actor=actor, pk=load.project.pk)).outflow_m3 == D("39.60")
    assert not flagged()  # exactly at the tolerance
    set_tolerance(cast, "9")
    assert flagged()      # 36 × 1.09 = 39.24
    set_tolerance(cast, "10")
    assert not flagged()
    deliver(load, stop="departed", estimated_m3=D("0.01"))  # just above
    result = reconciliation.project_reconciliation(actor=actor, pk=load.project.pk)
    assert soil(result).flag == reconciliation.OVER_PLAN
    assert soil(result).limit_m3 == D("39.60")


def test_a_category_sent_off_without_a_planned_quantity_is_flagged(cast, make_ready_load, deliver):
    load = make_ready_load()
    deliver(load, volume_m3=D("18"))
    # A revised plan that no longer plans excavated soil at all.
    refile(cast, load, {"construction_waste": D("50")}, streams=False)
    result = reconciliation.project_reconciliation(actor=cast.actor("reg_officer"), pk=load.project.pk)
    rows = {row.category.code: row for row in result.rows}
    assert rows["excavated_soil"].planned_m3 is None
    assert rows["excavated_soil"].flag == reconciliation.UNPLANNED
    assert rows["construction_waste"].flag == "" and rows["construction_waste"].outflow_m3 == 0
    assert result.flagged


def test_a_project_without_a_filed_plan_says_so(cast, make_ready_load, client):
    load = make_ready_load(file_plan=False)
    result = reconciliation.project_reconciliation(actor=cast.actor("construction_admin"), pk=load.project.pk)
    assert result.plan is None and result.rows == [] and not result.flagged
    client.force_login(cast.user("construction_admin"))
    page = client.get(reverse("reconciliation-project", args=[load.project.pk])).content.decode()
    assert 'data-testid="no-plan"' in page and "no filed handling plan" in page


# --- sites ----------------------------------------------------------------------------------
def test_a_site_counter_that_disagrees_with_its_manifests_shows_the_difference(cast, make_ready_load, deliver,
                                                                                client):
    load = make_ready_load()
    deliver(load, volume_m3=D("18"))
    # Capacity used before the platform, typed in by hand: not under any manifest.
    ReceivingSite.objects.filter(pk=load.site.pk).update(used_capacity_m3=D("118"))
    result = reconciliation.site_reconciliation(actor=cast.actor("site_operator"), pk=load.site.pk)
    assert (result.used_capacity_m3, result.accepted_m3, result.mismatch_m3) == (D("118"), D("18.00"), D("100.00"))
    assert not result.agrees
    client.force_login(cast.user("site_operator"))
    page = client.get(reverse("reconciliation-site", args=[load.site.pk])).content.decode()
    assert 'data-testid="mismatch"' in page and "100.00" in page
    overview = client.get(reverse("reconciliation")).content.decode()
    assert f'data-testid="site-{load.site.pk}"' in overview and 'data-testid="mismatch"' in overview


# --- visibility -----------------------------------------------------------------------------
@pytest.fixture
def two_districts(cast, make_ready_load, make_project, make_site, deliver):
    """A flagged project in Pengjiang (440703) and a filed-plan project and a site in Xinhui."""
    load = make_ready_load()
    refile(cast, load, {"excavated_soil": D("10")})
    deliver(load, volume_m3=D("18"))
    xinhui = make_project(at=XINHUI)
    actor = cast.actor("construction_admin")
    draft = plan_services.plan_draft_create(
        actor=actor, project=xinhui, contact_name="吴施工", contact_phone="13807500001",
        reduction_measures="分类堆放", pollution_control_measures="喷淋", reuse_rate_target=D("50"),
        quantities=[{"category": "excavated_soil", "quantity_m3": D("100")}])
    plan_services.plan_file(actor=actor, plan=draft)
    return load, xinhui, make_site(at=(float(XINHUI[0]), float(XINHUI[1])))


def test_a_district_regulator_sees_only_its_districts(cast, client, two_districts):
    load, xinhui, xinhui_site = two_districts
    assert load.project.district == 440703 and xinhui.district == 440705
    city = {r.project.pk for r in reconciliation.project_reconciliations(actor=cast.actor("reg_officer"))}
    district = {r.project.pk for r in reconciliation.project_reconciliations(actor=cast.actor("district_officer"))}
    assert city == {load.project.pk, xinhui.pk}
    assert district == {load.project.pk}
    with pytest.raises(NotFound):
        reconciliation.project_reconciliation(actor=cast.actor("district_officer"), pk=xinhui.pk)
    with pytest.raises(NotFound):
        reconciliation.site_reconciliation(actor=cast.actor("district_officer"), pk=xinhui_site.pk)
    client.force_login(cast.user("district_officer"))
    assert client.get(reverse("reconciliation-project", args=[xinhui.pk])).status_code == 404
    assert client.get(reverse("reconciliation-site", args=[xinhui_site.pk])).status_code == 404
    assert client.get(reverse("reconciliation-project", args=[load.project.pk])).status_code == 200
    assert client.get(reverse("reconciliation-site", args=[load.site.pk])).status_code == 200


def test_the_list_puts_flagged_projects_first(cast, client, two_districts):
    load, xinhui, _site = two_districts
    results = reconciliation.project_reconciliations(actor=cast.actor("reg_officer"))
    assert [r.project.pk for r in results] == [load.project.pk, xinhui.pk]
    assert [r.flagged for r in results] == [True, False]
    assert [r.project.pk for r in reconciliation.project_reconciliations(
        actor=cast.actor("reg_officer"), flagged_only=True)] == [load.project.pk]
    client.force_login(cast.user("reg_officer"))
    page = client.get(reverse("reconciliation")).content.decode()
    assert page.index(f'data-testid="project-{load.project.pk}"') < page.index(f'data-testid="project-{xinhui.pk}"')
    assert 'data-flag="over_plan"' in page and 'data-testid="flagged-count"' in page


def test_outsiders_get_404_and_see_nothing(cast, client, two_districts, token_for):  # noqa: F811
    load, _xinhui, _site = two_districts
    outsider = cast.actor("outsider")
    assert reconciliation.project_reconciliations(actor=outsider) == []
    client.force_login(cast.user("outsider"))
    assert client.get(reverse("reconciliation-project", args=[load.project.pk])).status_code == 404
    assert client.get(reverse("reconciliation-site", args=[load.site.pk])).status_code == 404
    assert client.get(reverse("reconciliation")).status_code == 200
    auth = token_for("outsider")
    assert client.get(f"/api/reconciliation/projects/{load.project.pk}", **auth).status_code == 404
    assert client.get(f"/api/reconciliation/sites/{load.site.pk}", **auth).status_code == 404
    assert client.get("/api/reconciliation/flags", **auth).json()["items"] == []


def test_parties_see_their_own(cast, two_districts):
    load, xinhui, _site = two_districts
    mine = {r.project.pk for r in reconciliation.project_reconciliations(actor=cast.actor("construction_staff"))}
    assert mine == {load.project.pk, xinhui.pk}  # the construction unit of both
    # The carrier moves the loads but does not see the project's plan.
    assert reconciliation.project_reconciliations(actor=cast.actor("transport_admin")) == []
    assert reconciliation.site_reconciliation(actor=cast.actor("site_operator"), pk=load.site.pk).agrees
    with pytest.raises(NotFound):
        reconciliation.site_reconciliation(actor=cast.actor("transport_admin"), pk=load.site.pk)


def test_anonymous_visitors_are_sent_to_log_in(client, cast):
    response = client.get(reverse("reconciliation"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


# --- API ------------------------------------------------------------------------------------
def test_the_api_gives_the_figures_and_the_flags(cast, client, two_districts, token_for):  # noqa: F811
    load, xinhui, _site = two_districts
    auth = token_for("district_officer")
    body = client.get(f"/api/reconciliation/projects/{load.project.pk}", **auth).json()
    assert body["flagged"] is True and body["tolerance_percent"] == 10.0 and body["plan_version"] == 2
    [row] = body["categories"]
    assert (row["category"], row["planned_m3"], row["outflow_m3"], row["limit_m3"], row["flag"]) == (
        "excavated_soil", 10.0, 18.0, 11.0, "over_plan")
    flags = client.get("/api/reconciliation/flags", **auth).json()
    assert [item["project_id"] for item in flags["items"]] == [load.project.pk]
    assert flags["items"][0]["flags"][0]["flag"] == "over_plan"
    site = client.get(f"/api/reconciliation/sites/{load.site.pk}", **auth).json()
    assert (site["used_capacity_m3"], site["accepted_m3"], site["agrees"]) == (18.0, 18.0, True)
    assert client.get(f"/api/reconciliation/projects/{xinhui.pk}", **auth).status_code == 404


# --- constant queries -----------------------------------------------------------------------
def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_one_project_costs_the_same_queries_for_one_or_several_categories(cast, make_ready_load, deliver):
    actor = cast.actor("reg_officer")
    one = make_ready_load()
    deliver(one, volume_m3=D("18"))
    several = make_ready_load()
    deliver(several, volume_m3=D("18"))
    refile(cast, several, {"excavated_soil": D("100"), "construction_waste": D("50"), "slurry": D("20")})
    assert len(reconciliation.project_reconciliation(actor=actor, pk=several.project.pk).rows) == 3
    assert count_queries(lambda: reconciliation.project_reconciliation(actor=actor, pk=one.project.pk)) == \
        count_queries(lambda: reconciliation.project_reconciliation(actor=actor, pk=several.project.pk))


def test_the_list_costs_the_same_queries_for_one_or_several_projects(cast, client, make_ready_load, deliver):
    actor = cast.actor("reg_officer")
    client.force_login(cast.user("reg_officer"))
    deliver(make_ready_load(), volume_m3=D("18"))
    baseline = count_queries(lambda: reconciliation.project_reconciliations(actor=actor))
    page_baseline = count_queries(lambda: client.get(reverse("reconciliation")))
    for _ in range(2):
        load = make_ready_load()
        deliver(load, volume_m3=D("18"))
    assert len(reconciliation.project_reconciliations(actor=actor)) == 3
    assert count_queries(lambda: reconciliation.project_reconciliations(actor=actor)) == baseline
    assert count_queries(lambda: client.get(reverse("reconciliation"))) == page_baseline


def test_the_pages_render_for_a_party(cast, client, make_ready_load, deliver):
    load = make_ready_load()
    deliver(load, volume_m3=D("18"))
    client.force_login(cast.user("construction_admin"))
    page = client.get(reverse("reconciliation-project", args=[load.project.pk])).content.decode()
    assert 'data-testid="categories"' in page and 'data-testid="category-excavated_soil"' in page
    assert 'data-testid="project-ok"' in page and "10.00%" in page
    assert client.get(reverse("reconciliation")).status_code == 200
    assert Manifest.objects.filter(project=load.project, status=ManifestStatus.ACCEPTED).count() == 1


def test_every_figure_is_to_the_cent(cast, make_ready_load, deliver):
    load = make_ready_load()
    deliver(load, gross_t=D("40.03"), tare_t=D("30"))
    deliver(load, gross_t=D("40.03"), tare_t=D("30"))
    row = soil(reconciliation.project_reconciliation(actor=cast.actor("reg_officer"), pk=load.project.pk))
    amounts = {name: value for name, value in vars(row).items() if isinstance(value, D)}
    assert amounts and not {name: value for name, value in amounts.items() if value.as_tuple().exponent != -2}
