"""The accounts API: token and session authentication, scoping, and the error shape."""

from __future__ import annotations

import pytest

from wastetrail.accounts import services
from wastetrail.accounts.models import ApiToken, Organisation
from wastetrail.core.audit.models import AuditEntry
from wastetrail.testing import make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_for(cast):
    def make(username: str) -> str:
        _, secret = services.api_token_create(actor=cast.actor(username), name="test client")
        return secret

    return make


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_requests_without_credentials_get_401(client, cast):
    assert client.get("/api/accounts/organisations").status_code == 401


def test_a_revoked_or_unknown_token_gets_401(client, cast, token_for):
    secret = token_for("transport_admin")
    assert client.get("/api/accounts/me", **bearer(secret)).status_code == 200
    token = ApiToken.objects.get()
    services.api_token_revoke(actor=cast.actor("transport_admin"), token=token)
    assert client.get("/api/accounts/me", **bearer(secret)).status_code == 401
    assert client.get("/api/accounts/me", **bearer("wt_not-a-token")).status_code == 401


def test_only_the_token_hash_is_stored(cast, token_for):
    secret = token_for("transport_admin")
    token = ApiToken.objects.get()
    assert secret not in (token.token_hash, token.prefix)
    assert secret.startswith(token.prefix)


def test_a_machine_client_sees_what_its_user_sees(client, cast, token_for):
    response = client.get("/api/accounts/organisations", **bearer(token_for("transport_admin")))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["items"][0]["name"] == cast.org("transport").name


def test_me_lists_memberships(client, cast, token_for):
    body = client.get("/api/accounts/me", **bearer(token_for("driver"))).json()
    assert body["memberships"][0]["role"] == "driver"
    assert body["is_regulator"] is False


def test_another_companys_organisation_is_404(client, cast, token_for):
    other = cast.org("transport_other").pk
    assert client.get(f"/api/accounts/organisations/{other}", **bearer(token_for("transport_admin"))).status_code == 404


def test_create_with_a_bad_code_is_422_with_the_field_and_changes_nothing(client, cast, token_for):
    headers = bearer(token_for("reg_admin"))
    before = (Organisation.objects.count(), AuditEntry.objects.count())
    response = client.post(
        "/api/accounts/organisations",
        {"name": "坏代码公司", "kind": "transport_company", "uscc": "91440300708461136U"},
        content_type="application/json", **headers,
    )
    assert response.status_code == 422
    assert "check character" in response.json()["errors"]["uscc"][0]
    assert (Organisation.objects.count(), AuditEntry.objects.count()) == before


def test_create_with_an_unknown_kind_is_422(client, cast, token_for):
    response = client.post(
        "/api/accounts/organisations",
        {"name": "x", "kind": "pirate", "uscc": make_uscc(5)},
        content_type="application/json", **bearer(token_for("reg_admin")),
    )
    assert response.status_code == 422


def test_create_and_patch(client, cast, token_for):
    headers = bearer(token_for("reg_admin"))
    response = client.post(
        "/api/accounts/organisations",
        {"name": "开平市通衢运输有限公司", "kind": "transport_company", "uscc": make_uscc(77, district=440783),
         "district": 440783},
        content_type="application/json", **headers,
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = client.patch(f"/api/accounts/organisations/{pk}", {"address": "开平市长沙街道"},
                            content_type="application/json", **headers)
    assert response.status_code == 200
    assert response.json()["address"] == "开平市长沙街道"


def test_non_admin_create_is_403(client, cast, token_for):
    response = client.post(
        "/api/accounts/organisations",
        {"name": "x", "kind": "transport_company", "uscc": make_uscc(5)},
        content_type="application/json", **bearer(token_for("transport_admin")),
    )
    assert response.status_code == 403


def test_session_api_calls_need_a_csrf_token(cast):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.user("reg_admin"))
    assert browser.get("/api/accounts/me").status_code == 200
    response = browser.post("/api/accounts/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_openapi_and_docs_are_served(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.")
    assert "/api/accounts/organisations" in spec.json()["paths"]
    assert client.get("/api/docs").status_code == 200


def test_token_command_prints_a_working_secret_once(client, cast):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("token", "create", "--user", "site_operator", "--name", "weighbridge", stdout=out)
    secret = out.getvalue().strip().rsplit(" ", 1)[-1]
    assert client.get("/api/accounts/me", **bearer(secret)).json()["username"] == "site_operator"
    with pytest.raises(CommandError, match="Give the token a name"):
        call_command("token", "create", "--user", "site_operator")
    with pytest.raises(CommandError, match="no active user"):
        call_command("token", "create", "--user", "nobody", "--name", "x")


def test_company_admin_adds_a_driver_through_the_api(client, cast, token_for):
    headers = bearer(token_for("transport_admin"))
    pk = cast.org("transport").pk
    response = client.post(f"/api/accounts/organisations/{pk}/members",
                           {"username": "new_driver", "password": "Long-enough-pass-1", "role": "driver",
                            "display_name": "新司机"}, content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    members = client.get(f"/api/accounts/organisations/{pk}/members", **headers).json()
    assert {"new_driver", "driver", "transport_admin"} <= {m["username"] for m in members}
    other = cast.org("transport_other").pk
    response = client.post(f"/api/accounts/organisations/{other}/members",
                           {"username": "spy", "password": "Long-enough-pass-1", "role": "staff"},
                           content_type="application/json", **headers)
    assert response.status_code == 404


def test_a_duplicate_username_is_a_field_error(client, cast, token_for):
    response = client.post(f"/api/accounts/organisations/{cast.org('transport').pk}/members",
                           {"username": "driver", "password": "Long-enough-pass-1", "role": "driver"},
                           content_type="application/json", **bearer(token_for("transport_admin")))
    assert response.status_code == 422
    assert "username" in response.json()["errors"]
