"""Approval pages: apply, list with filters, detail with scope and history, the reviewers'
queue (overdue and unofficial deadlines marked), decision forms; scoping and permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, cast):
    def as_user(username: str):
        client.force_login(cast.user(username))
        return client

    return as_user


def test_a_holder_applies_on_the_page_and_sees_it_listed(login, cast):
    client = login("transport_admin")
    form = client.get(reverse("approvals-create"))
    assert form.status_code == 200 and cast.org("transport").name in form.content.decode()
    saved = client.post(reverse("approvals-create"), {"kind": "transport", "holder": cast.org("transport").pk,
                                                      "note": "年度运输核准"})
    approval = Approval.objects.get()
    assert saved.status_code == 302 and saved.url == reverse("approvals-detail", args=[approval.pk])
    assert approval.number in client.get(reverse("approvals-list")).content.decode()


def test_documents_go_with_the_application(login, cast):
    client = login("transport_admin")
    assert 'enctype="multipart/form-data"' in client.get(reverse("approvals-create")).content.decode()
    licence = SimpleUploadedFile("道路运输经营许可证.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    photo = SimpleUploadedFile("车辆照片.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    client.post(reverse("approvals-create"), {"kind": "transport", "holder": cast.org("transport").pk,
                                              "attachments": [licence, photo]})
    approval = Approval.objects.get()
    assert sorted(approval.attachments.values_list("name", flat=True)) == ["车辆照片.png", "道路运输经营许可证.pdf"]


def test_a_wrong_document_refuses_the_whole_application(login, cast):
    client = login("transport_admin")
    virus = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    response = client.post(reverse("approvals-create"), {"kind": "transport", "holder": cast.org("transport").pk,
                                                         "attachments": [virus]})
    assert response.status_code == 400 and 'data-testid="error-attachments"' in response.content.decode()
    assert not Approval.objects.exists()


def test_an_application_without_its_project_shows_on_the_project_field(login, cast):
    response = login("construction_admin").post(reverse("approvals-create"), {
        "kind": "emission", "holder": cast.org("construction").pk})
    assert response.status_code == 400 and 'data-testid="error-project"' in response.content.decode()
    assert not Approval.objects.exists()


def test_the_list_filters_by_kind_and_status(login, make_approval):
    transport = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)
    emission = make_approval(ApprovalKind.EMISSION)
    html = login("reg_officer").get(reverse("approvals-list"), {"kind": "transport",
                                                                "status": "under_review"}).content.decode()
    assert transport.number in html and emission.number not in html


def test_the_detail_shows_scope_documents_and_history(login, make_approval, cast):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED)
    client = login("transport_admin")
    client.post(reverse("approvals-attach", args=[approval.pk]),
                {"file": SimpleUploadedFile("许可证.pdf", b"%PDF-1.4"), "name": "道路运输经营许可证"})
    html = client.get(reverse("approvals-detail", args=[approval.pk])).content.decode()
    assert 'data-testid="scope"' in html and approval.vehicles.get().plate in html
    assert "道路运输经营许可证" in html
    assert "approval.approve" in html and "approval.attach" in html
    assert 'data-testid="decisions"' not in html  # holders do not decide


def test_the_queue_marks_overdue_and_unofficial_deadlines(login, make_approval):
    overdue = make_approval(ApprovalKind.TRANSPORT)
    Approval.objects.filter(pk=overdue.pk).update(review_due=dt.date(2020, 1, 2), review_due_official=False)
    on_time = make_approval(ApprovalKind.DISPOSAL, ApprovalStatus.UNDER_REVIEW)
    html = login("reg_officer").get(reverse("approvals-queue")).content.decode()
    assert html.index(overdue.number) < html.index(on_time.number)
    assert html.count('data-testid="overdue"') == 1
    assert "computed without official data" in html


def test_the_queue_is_forbidden_to_holders(login):
    assert login("transport_admin").get(reverse("approvals-queue")).status_code == 403


def test_a_reviewer_approves_with_scope_on_the_page(login, make_approval, make_truck, categories, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPLIED)
    client = login("reg_officer")
    assert client.post(reverse("approvals-decide", args=[approval.pk, "start_review"])).status_code == 302
    unsealed, fit = make_truck(sealed=False), make_truck()
    url = reverse("approvals-decide", args=[approval.pk, "approve"])
    assert unsealed.plate in client.get(url).content.decode()
    form = {"categories": [categories["excavated_soil"].pk], "valid_from": today.isoformat(),
            "valid_to": (today + dt.timedelta(days=30)).isoformat()}
    refused = client.post(url, form | {"vehicles": [unsealed.pk]})
    assert refused.status_code == 400 and 'data-testid="error-vehicles"' in refused.content.decode()
    assert client.post(url, form | {"vehicles": [fit.pk]}).status_code == 302
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.APPROVED


def test_a_reviewer_rejects_and_an_out_of_order_step_is_a_message(login, make_approval):
    approval = make_approval(ApprovalKind.EMISSION, ApprovalStatus.UNDER_REVIEW)
    client = login("reg_admin")
    url = reverse("approvals-decide", args=[approval.pk, "reject"])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "未提交处理方案"}).status_code == 302
    again = client.post(reverse("approvals-decide", args=[approval.pk, "suspend"]), {"reason": "x"}, follow=True)
    assert "Only an approved approval can be suspended" in again.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.REJECTED


def test_outsiders_get_404_and_holders_403_on_decisions(login, make_approval):
    approval = make_approval(ApprovalKind.TRANSPORT)
    assert login("transport_other_admin").get(reverse("approvals-detail", args=[approval.pk])).status_code == 404
    client = login("transport_admin")
    assert client.post(reverse("approvals-decide", args=[approval.pk, "start_review"])).status_code == 403
    assert client.get(reverse("approvals-decide", args=[approval.pk, "nonsense"])).status_code == 404
