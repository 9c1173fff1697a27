"""Login and logout pages, argon2 hashing and login throttling."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.urls import reverse

from wastetrail.accounts.models import LoginFailure, User
from wastetrail.testing import CAST_PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password, **extra):
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, **extra)


@pytest.mark.real_hashing
def test_passwords_are_stored_with_argon2(cast):
    user = User.objects.create_user("hash_check", password="Long-enough-pass-1")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")


def test_login_then_home_then_logout(client, cast):
    response = _login(client, "transport_admin", CAST_PASSWORD)
    assert response.status_code == 302 and response.url == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert cast.org("transport").name in home.content.decode()
    client.post(reverse("accounts:logout"))
    assert client.get("/").status_code == 302


def test_logout_by_get_is_refused(client, cast):
    client.force_login(cast.user("transport_admin"))
    assert client.get(reverse("accounts:logout")).status_code == 405


def test_wrong_password_shows_an_error_and_is_counted(client, cast):
    response = _login(client, "transport_admin", "wrong")
    assert response.status_code == 400
    assert LoginFailure.objects.filter(username="transport_admin").count() == 1


def test_the_next_parameter_cannot_send_users_off_site(client, cast):
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": "transport_admin", "password": CAST_PASSWORD},
    )
    assert response.url == "/"


def test_too_many_failures_lock_the_username_even_with_the_right_password(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        _login(client, "transport_admin", "wrong")
    response = _login(client, "transport_admin", CAST_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_from_one_address_lock_it_for_every_username(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for name in ("a", "b", "c"):
        _login(client, name, "wrong", REMOTE_ADDR="10.9.8.7")
    assert _login(client, "driver", CAST_PASSWORD, REMOTE_ADDR="10.9.8.7").status_code == 429
    assert _login(client, "driver", CAST_PASSWORD, REMOTE_ADDR="10.9.8.8").status_code == 302


def test_the_lock_expires_after_the_window(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 60
    _login(client, "driver", "wrong")
    _login(client, "driver", "wrong")
    assert _login(client, "driver", CAST_PASSWORD).status_code == 429
    import datetime as dt

    LoginFailure.objects.update(at=LoginFailure.objects.first().at - dt.timedelta(seconds=61))
    assert _login(client, "driver", CAST_PASSWORD).status_code == 302


def test_a_successful_login_clears_the_failures(client, cast):
    _login(client, "driver", "wrong")
    _login(client, "driver", CAST_PASSWORD)
    assert not LoginFailure.objects.filter(username="driver").exists()


def test_inactive_users_cannot_log_in(client, cast):
    User.objects.filter(username="driver").update(is_active=False)
    assert _login(client, "driver", CAST_PASSWORD).status_code == 400


@pytest.mark.skipif("not os.environ.get('DATABASE_URL', '').startswith('postgres')",
                    reason="needs real parallel writers (PostgreSQL); SQLite serialises them")
@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_never_get_more_password_checks_than_the_limit(cast, settings):
    import threading

    from django.db import connections

    from wastetrail.accounts.services import LoginThrottled, login_check

    settings.LOGIN_MAX_FAILURES = 5
    checked, throttled = [], []
    start = threading.Barrier(12)

    def attempt() -> None:
        try:
            start.wait()
            login_check(username="driver", password="wrong", ip_address=None)
            checked.append(1)
        except LoginThrottled:
            throttled.append(1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) <= 5
    assert len(checked) + len(throttled) == 12


def test_the_admin_login_goes_through_the_throttled_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
