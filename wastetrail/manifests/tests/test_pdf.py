"""The printable manifest: every Art. 4 item and the signatories are in the text (Chinese included),
the CJK font is embedded, each state builds, long texts wrap, and only those who may see the
manifest get it (page and API)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from wastetrail.accounts.models import User
from wastetrail.accounts.policy import actor_for
from wastetrail.manifests import pdf as manifest_pdf_module
from wastetrail.manifests import services
from wastetrail.manifests.document_views import manifest_for_pdf
from wastetrail.manifests.models import Manifest
from wastetrail.manifests.pdf import DEFAULT_CJK_FONTS, manifest_pdf
from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture
from wastetrail.testing import CAST_PASSWORD

pytestmark = pytest.mark.django_db
BASE_URL = "https://wastetrail.example"
WQY = DEFAULT_CJK_FONTS[0]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def embedded_font_files(data: bytes) -> list[str]:
    """Names of the fonts whose descriptor carries an embedded TrueType program (/FontFile2)."""
    reader = PdfReader(io.BytesIO(data))
    found = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            descriptors = [font.get("/FontDescriptor")]
            descriptors += [d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])]
            for descriptor in descriptors:
                if descriptor is not None and "/FontFile2" in descriptor.get_object():
                    found.append(str(font.get("/BaseFont")))
    return found


def as_seen(pk: int) -> Manifest:
    """The manifest as the documents door loads it (signatories joined), for a regulator."""
    return manifest_for_pdf(actor_for(User.objects.get(username="reg_officer")), pk)[0]


@pytest.fixture
def received_with_refusal(cast, now, make_ready_load, arrived):
    """Weighed at the gate and partially refused, with a long reason; the refused part redirected."""
    load = make_ready_load(extra_sites=1)
    manifest = arrived(load)
    manifest = services.manifest_receive(
        actor=cast.actor("site_operator"), manifest=manifest, outcome="partially_refused",
        gross_t=Decimal("48.60"), tare_t=Decimal("16.20"), refused_quantity=Decimal("5.40"),
        reason="混有生活垃圾和废旧家具，" * 12, lon="113.0781", lat="22.5790",
        now=now + dt.timedelta(hours=1, minutes=5))
    redirected = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest,
                                            site=load.sites[1], now=now + dt.timedelta(hours=2))
    return manifest, redirected


def test_the_pdf_has_every_art4_item_the_receipt_and_the_signatories_in_chinese(
        cast, received_with_refusal):
    manifest, redirected = received_with_refusal
    with translation.override("zh-hans"):
        data = manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL, redirects=[redirected])
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    # Field labels are the models' verbose names, already in the zh-Hans catalogue.
    for label in ("建筑垃圾电子联单", "排放单位", "运输单位", "车牌号", "驾驶员", "消纳场所", "签署人", "拒收原因",
                  "毛重", "部分拒收"):
        assert label in text, label
    for value in (manifest.number, manifest.vehicle.plate, manifest.site.name, manifest.project.name,
                  manifest.emitter.name, manifest.carrier.name, manifest.receiver.name,
                  manifest.emission_approval.number, manifest.transport_approval.number,
                  manifest.disposal_approval.number, redirected.number, "48.60", "16.20", "32.40", "5.40"):
        assert value in text, value
    # The signatories by name, and the driver's mobile only masked.
    for signatory in ("郑施工员", "刘司机", "赵场站"):
        assert signatory in text, signatory
    assert manifest.driver.name in text
    assert manifest.driver.phone not in text.replace(" ", "")
    assert "113.078100, 22.579000" in text


def test_labels_follow_the_active_language(received_with_refusal):
    manifest, _redirected = received_with_refusal
    with translation.override("en"):
        text = pdf_text(manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL))
    for label in ("Construction waste transfer manifest", "建筑垃圾电子联单", "Emitting unit", "Plate",
                  "Signatures", "Signed by", "Partially refused", "Reason for refusal", "Page 1 of"):
        assert label in text, label


def test_long_texts_wrap_inside_the_page(received_with_refusal):
    """The 144-character reason is on the page in full, over several lines, not cut at the margin."""
    manifest, _redirected = received_with_refusal
    text = pdf_text(manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL))
    assert text.replace("\n", "").replace(" ", "").count("混有生活垃圾和废旧家具") == 12
    lines_with_reason = [line for line in text.splitlines() if "废旧家具" in line]
    assert len(lines_with_reason) >= 3


def test_the_cjk_font_is_embedded(received_with_refusal, settings):
    if not os.path.exists(WQY):
        pytest.skip(f"{WQY} is not installed (apt-get install fonts-wqy-microhei): cannot check embedding")
    settings.PDF_CJK_FONT = WQY
    manifest, _redirected = received_with_refusal
    fonts = embedded_font_files(manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL))
    assert fonts, "no font program embedded"


def test_without_any_ttf_it_falls_back_to_the_cid_font_and_warns_once(received_with_refusal, settings,
                                                                     monkeypatch, caplog):
    monkeypatch.setattr(manifest_pdf_module, "DEFAULT_CJK_FONTS", ())
    settings.PDF_CJK_FONT = "/nonexistent/font.ttf"
    manifest_pdf_module._register_font.cache_clear()
    manifest, _redirected = received_with_refusal
    try:
        with caplog.at_level(logging.WARNING, logger="wastetrail.manifests.pdf"):
            first = manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL)
            manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL)
        assert b"STSong-Light" in first
        assert embedded_font_files(first) == []
        assert manifest.number in pdf_text(first)
        warnings = [r for r in caplog.records if "non-embedded" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        manifest_pdf_module._register_font.cache_clear()


def test_a_pdf_builds_for_issued_and_cancelled_manifests(cast, now, make_ready_load, issue):
    load = make_ready_load()
    issued = issue(load)
    text = pdf_text(manifest_pdf(as_seen(issued.pk), base_url=BASE_URL))
    assert issued.number in text and "Issued" in text
    cancelled = services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=issued,
                                         reason="车辆临时故障，改派他车", now=now + dt.timedelta(minutes=5))
    text = pdf_text(manifest_pdf(as_seen(cancelled.pk), base_url=BASE_URL))
    assert "Cancelled" in text and "车辆临时故障，改派他车" in text


def test_the_qr_code_is_drawn_as_vector_squares_with_the_number_under_it(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    flowable = manifest_pdf_module.QRFlowable(f"{BASE_URL}/manifests/n/{manifest.number}/", manifest.number,
                                              size=100, font=manifest_pdf_module.cjk_font_name())
    assert len(flowable.matrix) == len(flowable.matrix[0]) >= 25  # version 2+ with its quiet zone
    data = manifest_pdf(as_seen(manifest.pk), base_url=BASE_URL)
    page = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()
    assert page.count(b" re") > 200  # one rectangle per dark module, not an embedded image


# --- doors: the page and the API -------------------------------------------------------------
def test_the_page_serves_the_pdf_to_a_party_and_404_to_others(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    url = reverse("manifests-pdf", args=[manifest.pk])
    client.login(username="transport_admin", password=CAST_PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"manifest-{manifest.number}.pdf" in response["Content-Disposition"]
    assert manifest.number in pdf_text(response.content)
    for outsider in ("outsider", "transport_other_admin"):
        client.login(username=outsider, password=CAST_PASSWORD)
        assert client.get(url).status_code == 404
    assert client.get(reverse("manifests-pdf", args=[999999])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_api_serves_the_pdf_with_a_token_and_404_to_others(client, cast, make_ready_load, issue,
                                                               token_for):  # noqa: F811
    manifest = issue(make_ready_load())
    url = f"/api/manifests/{manifest.pk}/pdf"
    response = client.get(url, **token_for("site_operator"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert manifest.vehicle.plate in pdf_text(response.content)
    denied = client.get(url, **token_for("transport_other_admin"))
    assert denied.status_code == 404 and denied.json() == {"detail": "not found"}
    assert client.get(url).status_code == 401
