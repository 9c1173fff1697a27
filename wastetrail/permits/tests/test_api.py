"""The approvals API: every step, 422/403/404/409, attachments, constant queries for lists."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.permits.models import Approval, ApprovalAttachment, ApprovalKind, ApprovalStatus

pytestmark = pytest.mark.django_db
BASE = "/api/permits/approvals"


def post(client, url: str, body: dict | None, auth: dict):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **auth)


def test_apply_review_approve_suspend_reinstate_revoke_through_the_api(client, cast, make_truck, token_for, today):
    holder = token_for("transport_admin")
    applied = post(client, BASE, {"kind": "transport", "holder_id": cast.org("transport").pk,
                                  "note": "申请运输核准"}, holder)
    assert applied.status_code == 201, applied.content
    body = applied.json()
    assert body["status"] == "applied" and body["number"].startswith("江城管核〔")
    assert body["review_due_official"] in (True, False) and body["vehicles"] == []
    pk = body["id"]
    reviewer = token_for("reg_officer")
    assert post(client, f"{BASE}/{pk}/start-review", None, reviewer).json()["status"] == "under_review"
    truck = make_truck()
    approved = post(client, f"{BASE}/{pk}/approve", {
        "categories": ["excavated_soil", "construction_waste"], "vehicle_ids": [truck.pk],
        "quantity_cap_m3": 5000, "valid_from": today.isoformat(),
        "valid_to": (today + dt.timedelta(days=180)).isoformat(),
    }, reviewer)
    assert approved.status_code == 200, approved.content
    assert approved.json()["vehicles"] == [truck.plate] and approved.json()["quantity_cap_m3"] == 5000.0
    assert post(client, f"{BASE}/{pk}/suspend", {"reason": "GPS离线"}, reviewer).json()["status"] == "suspended"
    assert post(client, f"{BASE}/{pk}/reinstate", None, reviewer).json()["status"] == "approved"
    revoked = post(client, f"{BASE}/{pk}/revoke", {"reason": "出借核准文件"}, reviewer).json()
    assert (revoked["status"], revoked["revocation_reason"]) == ("revoked", "出借核准文件")
    history = client.get(f"{BASE}/{pk}/history", **holder).json()
    assert [h["action"] for h in history] == ["approval.apply", "approval.start_review", "approval.approve",
                                              "approval.suspend", "approval.reinstate", "approval.revoke"]


def test_reject_through_the_api(client, make_approval, token_for):
    approval = make_approval(ApprovalKind.EMISSION, ApprovalStatus.UNDER_REVIEW)
    response = post(client, f"{BASE}/{approval.pk}/reject", {"reason": "处理方案未备案"}, token_for("reg_admin"))
    assert response.json()["status"] == "rejected"


def test_an_unsealed_truck_is_a_422_on_vehicle_ids(client, make_approval, make_truck, token_for, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)
    truck = make_truck(sealed=False)
    auth = token_for("reg_officer")
    audit_rows = AuditEntry.objects.count()
    response = post(client, f"{BASE}/{approval.pk}/approve", {
        "categories": ["slurry"], "vehicle_ids": [truck.pk], "valid_from": today.isoformat(),
        "valid_to": today.isoformat()}, auth)
    assert response.status_code == 422
    assert truck.plate in response.json()["errors"]["vehicle_ids"][0]
    assert AuditEntry.objects.count() == audit_rows


def test_unknown_ids_and_codes_are_422_naming_the_field(client, cast, make_approval, token_for, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)
    response = post(client, f"{BASE}/{approval.pk}/approve", {
        "categories": ["gold"], "vehicle_ids": [], "valid_from": today.isoformat(),
        "valid_to": today.isoformat()}, token_for("reg_officer"))
    assert response.status_code == 422 and list(response.json()["errors"]) == ["categories"]
    response = post(client, BASE, {"kind": "emission", "holder_id": cast.org("construction").pk,
                                   "project_id": 99999}, token_for("construction_admin"))
    assert response.status_code == 422 and list(response.json()["errors"]) == ["project_id"]


def test_a_wrong_state_is_a_409_and_a_holder_deciding_is_a_403(client, make_approval, token_for):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPLIED)
    response = post(client, f"{BASE}/{approval.pk}/reinstate", None, token_for("reg_officer"))
    assert response.status_code == 409 and response.json()["code"] == "wrong_state"
    assert post(client, f"{BASE}/{approval.pk}/start-review", None, token_for("transport_admin")).status_code == 403
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.APPLIED


def test_another_companys_approval_is_a_404(client, make_approval, token_for):
    approval = make_approval(ApprovalKind.TRANSPORT)
    auth = token_for("transport_other_admin")
    assert client.get(f"{BASE}/{approval.pk}", **auth).status_code == 404
    assert client.get(f"{BASE}/{approval.pk}/history", **auth).status_code == 404
    assert post(client, f"{BASE}/{approval.pk}/start-review", None, auth).status_code == 404
    assert client.get(BASE, **auth).json()["count"] == 0


def test_the_review_queue_is_403_for_holders(client, make_approval, token_for):
    make_approval(ApprovalKind.TRANSPORT)
    assert client.get(f"{BASE}/review-queue", **token_for("transport_admin")).status_code == 403
    assert client.get(f"{BASE}/review-queue", **token_for("reg_officer")).json()["count"] == 1


def test_the_list_filters_by_kind_and_status(client, make_approval, token_for):
    transport = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)
    make_approval(ApprovalKind.EMISSION)
    auth = token_for("reg_officer")
    listed = client.get(f"{BASE}?kind=transport&status=under_review", **auth).json()
    assert [item["id"] for item in listed["items"]] == [transport.pk]


def test_attachments_are_uploaded_as_multipart_and_checked(client, make_approval, token_for):
    approval = make_approval(ApprovalKind.TRANSPORT)
    auth = token_for("transport_admin")
    pdf = SimpleUploadedFile("营业执照.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(f"{BASE}/{approval.pk}/attachments", {"file": pdf, "name": "营业执照"}, **auth)
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "营业执照" and "/approvals/" in response.json()["url"]
    exe = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    refused = client.post(f"{BASE}/{approval.pk}/attachments", {"file": exe}, **auth)
    assert refused.status_code == 422 and "file" in refused.json()["errors"]
    assert ApprovalAttachment.objects.count() == 1
    assert client.get(f"{BASE}/{approval.pk}", **auth).json()["attachments"][0]["name"] == "营业执照"


def test_a_file_over_10_mb_is_refused(client, make_approval, token_for):
    approval = make_approval(ApprovalKind.TRANSPORT)
    big = SimpleUploadedFile("scan.png", b"0" * (10 * 1024 * 1024 + 1), content_type="image/png")
    response = client.post(f"{BASE}/{approval.pk}/attachments", {"file": big}, **token_for("transport_admin"))
    assert response.status_code == 422 and "10 MB" in response.json()["errors"]["file"][0]


def test_the_list_costs_the_same_queries_for_1_or_many_approvals(client, make_approval, make_truck, token_for):
    auth = token_for("reg_officer")
    make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED)
    client.get(BASE, **auth)  # warm-up: the token's first use updates it
    with CaptureQueriesContext(connection) as one:
        assert client.get(BASE, **auth).json()["count"] == 1
    for kind in (ApprovalKind.TRANSPORT, ApprovalKind.EMISSION, ApprovalKind.DISPOSAL):
        make_approval(kind, ApprovalStatus.APPROVED)
        make_approval(kind)
    with CaptureQueriesContext(connection) as many:
        assert client.get(BASE, **auth).json()["count"] == 7
    assert len(many) == len(one)
