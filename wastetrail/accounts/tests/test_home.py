"""Each role lands on a home page that leads to its own work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wastetrail.testing import CAST_USERS

pytestmark = pytest.mark.django_db

# username -> a page the role's home must link to, and one it must not.
EXPECTED = {
    "reg_admin": ("audit", None),
    "construction_admin": ("projects-list", "vehicles-list"),
    "transport_admin": ("vehicles-list", "audit"),
    "driver": ("vehicles-list", "audit"),
    "site_operator": ("sites-list", "vehicles-list"),
    "housing_officer": ("organisations-list", "audit"),
}


@pytest.mark.parametrize("username", list(CAST_USERS))
def test_every_role_has_a_home_page(client, cast, username):
    client.force_login(cast.user(username))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    organisation_key = CAST_USERS[username][0]
    assert cast.org(organisation_key).name in response.content.decode()


@pytest.mark.parametrize(("username", "expected"), EXPECTED.items())
def test_home_links_match_the_role(client, cast, username, expected):
    present, absent = expected
    client.force_login(cast.user(username))
    sections = client.get(reverse("home")).context["sections"]
    urls = {link.url for _, _, links in sections for link in links}
    assert reverse(present) in urls
    if absent:
        assert reverse(absent) not in urls


def test_the_audit_page_is_for_regulators_only(client, cast):
    client.force_login(cast.user("transport_admin"))
    assert client.get(reverse("audit")).status_code == 403
    client.force_login(cast.user("reg_officer"))
    assert client.get(reverse("audit")).status_code == 200


def test_pages_switch_to_english(client, cast):
    client.force_login(cast.user("reg_admin"))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("organisations-list")).content.decode()
    assert "Organisations" in page
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("organisations-list")).content.decode()
    assert "组织" in page or "单位" in page


@pytest.mark.parametrize(("username", "shown", "hidden"), [
    # The city bureau's administrator configures routing and decides extensions.
    ("reg_admin", {"complaints:routing-rules-list", "complaints:extensions", "complaints:stats"}, set()),
    # Its staff work the queues but neither configure nor decide extensions.
    ("reg_officer", {"complaints:queue", "complaints:stats"},
     {"complaints:routing-rules-list", "complaints:categories-list", "complaints:extensions"}),
    ("street_officer", {"complaints:queue", "complaints:stats"}, {"complaints:routing-rules-list"}),
])
def test_work_order_configuration_links_only_for_those_who_may_use_them(client, cast, username, shown, hidden):
    client.force_login(cast.user(username))
    sections = client.get(reverse("home")).context["sections"]
    urls = {link.url for _, _, links in sections for link in links}
    assert {reverse(name) for name in shown} <= urls
    assert not {reverse(name) for name in hidden} & urls


# --- the top bar ------------------------------------------------------------------------------
def nav_of(client, user, path="home") -> dict[str, bool]:
    """The top bar a page shows the user: address -> whether it is marked as the current page."""
    client.force_login(user)
    response = client.get(reverse(path))
    assert response.status_code == 200
    return {link.url: link.current for link in response.context["nav_links"]}


@pytest.mark.parametrize(("username", "shown", "hidden"), [
    ("reg_officer", {"map", "live-map", "approvals-queue", "manifests-list", "stacking-points-list",
                     "complaints:queue", "reconciliation"}, {"manifests-driver"}),
    ("driver", {"manifests-driver", "vehicles-list", "map"},
     {"reconciliation", "organisations-list", "complaints:queue", "approvals-queue"}),
    ("property_manager", {"stacking-points-list", "stacking-collections", "complaints:queue"},
     {"approvals-queue", "live-map", "reconciliation"}),
    ("site_operator", {"manifests-find", "manifests-list", "sites-list"}, {"stacking-points-list", "projects-list"}),
    ("hotline_client", {"complaints:queue"}, {"manifests-list", "map"}),
])
def test_the_top_bar_offers_each_role_its_own_pages(client, cast, username, shown, hidden):
    nav = nav_of(client, cast.user(username))
    assert {reverse(name) for name in shown} <= nav.keys()
    assert not {reverse(name) for name in hidden} & nav.keys()


def test_every_top_bar_link_is_one_the_home_page_offers(client, cast):
    for username in CAST_USERS:
        nav = nav_of(client, cast.user(username))
        sections = client.get(reverse("home")).context["sections"]
        assert nav.keys() <= {link.url for _, _, links in sections for link in links}, username


def test_the_page_being_shown_is_marked_current_by_its_longest_address(client, cast):
    nav = nav_of(client, cast.user("site_operator"), "manifests-find")
    # /manifests/find/ lies under /manifests/ too: only the more precise link is current.
    assert [url for url, current in nav.items() if current] == [reverse("manifests-find")]
    assert nav_of(client, cast.user("site_operator"), "home") == dict.fromkeys(nav, False)
    # The stacking map lies under the points' address: the points' link is current there.
    stacking = nav_of(client, cast.user("property_manager"), "stacking-map")
    assert [url for url, current in stacking.items() if current] == [reverse("stacking-points-list")]


def test_the_top_bar_is_rendered_in_the_page_language(client, cast):
    client.force_login(cast.user("property_manager"))
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    bar = page[page.index('<nav class="mainnav">'):page.index("</nav>")]
    assert f'href="{reverse("stacking-points-list")}"' in bar and "堆放点" in bar


def test_nobody_logged_in_gets_an_empty_top_bar(client):
    response = client.get(reverse("accounts:login"))
    assert list(response.context["nav_links"]) == []


def test_a_page_without_the_top_bar_does_not_load_it(client, cast, django_assert_num_queries):
    from wastetrail.accounts.context_processors import navigation

    user = cast.user("reg_officer")
    request = client.get(reverse("accounts:login")).wsgi_request
    request.user = user
    with django_assert_num_queries(0):  # nothing loaded yet: a template that never walks the bar pays nothing
        links = navigation(request)["nav_links"]
    with django_assert_num_queries(1):  # the memberships, when it does
        assert reverse("map") in {link.url for link in links}
