"""The interface is Simplified Chinese by default, with English one click away."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from wastetrail.core.validators import validate_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_default(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def test_pages_are_chinese_by_default(client, chinese_default):
    page = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "建筑垃圾" in page and "登录" in page


def test_a_browser_asking_for_english_gets_english(client, chinese_default):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Construction waste supervision" in page and "Log in" in page


def test_api_errors_come_in_the_users_language(client, cast, chinese_default):
    client.force_login(cast.user("reg_admin"))
    payload = {"name": "x", "kind": "transport_company", "uscc": "91440300708461136U"}
    zh = client.post("/api/accounts/organisations", payload, content_type="application/json").json()
    en = client.post("/api/accounts/organisations", payload, content_type="application/json",
                     HTTP_ACCEPT_LANGUAGE="en").json()
    assert "校验" in zh["errors"]["uscc"][0]
    assert "check character" in en["errors"]["uscc"][0]


def test_every_message_of_the_catalogue_is_translated():
    """A UI string without a translation would show English in the Chinese interface."""
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    untranslated = [e for e in entries if 'msgstr ""' in e and not e.split('msgstr ""', 1)[1].strip()]
    assert untranslated == []
    assert "#, fuzzy" not in text


def test_validation_messages_translate(chinese_default):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        validate_uscc("123")
    assert "18" in caught.value.messages[0] and "统一社会信用代码" in caught.value.messages[0]
