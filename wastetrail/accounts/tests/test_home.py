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
