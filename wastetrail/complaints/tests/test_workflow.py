"""The work-order lifecycle through the services: each step, who may take it, and what a wrong
step or bad input leaves unchanged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.complaints import services
from wastetrail.complaints.models import (
    EventKind,
    Satisfaction,
    WorkOrder,
    WorkOrderMonthlyStat,
    WorkOrderSource,
    WorkOrderStatus,
)
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, XINHUI_POINT, local
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError


def public_report(*, at, point=PENGJIANG_POINT, category=None, **extra):
    values = dict(actor=None, source=WorkOrderSource.PUBLIC, description="有人在河边倾倒装修垃圾",
                  lon=point[0], lat=point[1], complainant_name="张三", complainant_phone="13800138000",
                  category=category, now=at)
    values.update(extra)
    return services.workorder_receive(**values)


def test_public_report_runs_the_whole_lifecycle(desk):
    at = local(2026, 11, 2)  # a Monday
    order, code = public_report(at=at)
    assert order.status == WorkOrderStatus.RECEIVED and order.district == 440703
    assert len(code) == 6 and code not in order.tracking_code_hash
    officer = desk.actor("reg_officer")
    services.workorder_classify(actor=officer, order=order, order_type="report",
                                category=desk.category("illegal_dumping"), now=at)
    order = services.workorder_dispatch(actor=officer, order=order, now=at)
    # Routed by the table: Pengjiang's bureau; a report has 15 working days.
    assert order.unit == desk.cast.org("district_regulator")
    assert order.due_date == dt.date(2026, 11, 23) and order.return_due == dt.date(2026, 11, 3)
    handler = desk.actor("district_officer")
    services.workorder_accept(actor=handler, order=order, now=at)
    services.workorder_handle(actor=handler, order=order, note="现场核查，已责令清理", now=at)
    order = services.workorder_answer(actor=handler, order=order, answer="已清理完毕", now=local(2026, 11, 5))
    assert order.answered_late is False and order.handling_working_days == 3
    order = services.workorder_rate(actor=None, order=order, satisfaction=Satisfaction.SATISFIED,
                                    now=local(2026, 11, 6))
    assert order.status == WorkOrderStatus.CLOSED
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == [EventKind.RECEIVED, EventKind.CLASSIFIED, EventKind.DISPATCHED, EventKind.ACCEPTED,
                     EventKind.HANDLED, EventKind.ANSWERED, EventKind.RATED, EventKind.CLOSED]
    assert AuditEntry.objects.filter(object_id=str(order.pk), action__startswith="workorder.").count() == 7
    stat = WorkOrderMonthlyStat.objects.get(unit=order.unit, month=dt.date(2026, 11, 1))
    assert (stat.dispatched, stat.answered, stat.answered_on_time, stat.handling_working_days,
            stat.rated, stat.satisfied) == (1, 1, 1, 3, 1, 1)


def test_a_step_out_of_order_is_refused_and_changes_nothing(desk):
    order, _code = public_report(at=local(2026, 11, 2))
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as caught:  # not classified yet
        services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order)
    assert caught.value.code == "cannot_dispatch"
    with pytest.raises(DomainError) as caught:
        services.workorder_rate(actor=None, order=order, satisfaction=3)
    assert caught.value.code == "cannot_rate"
    assert AuditEntry.objects.count() == before
    assert WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.RECEIVED


def test_only_the_unit_handles_and_only_dispatchers_of_the_district_dispatch(desk):
    at = local(2026, 11, 2)
    order, _code = public_report(at=at, category=desk.category("illegal_dumping"))
    with pytest.raises(PermissionDenied):
        services.workorder_dispatch(actor=desk.actor("xinhui_officer"), order=order, now=at)
    order = services.workorder_dispatch(actor=desk.actor("district_officer"), order=order, now=at)
    for outsider in ("xinhui_officer", "street_officer", "property_manager", "hotline_client"):
        with pytest.raises(PermissionDenied):
            services.workorder_accept(actor=desk.actor(outsider), order=order, now=at)


def test_return_is_allowed_only_inside_the_window_and_needs_a_reason(desk):
    at = local(2026, 11, 2)
    order, _code = public_report(at=at, category=desk.category("illegal_dumping"))
    order = services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=at)
    handler = desk.actor("district_officer")
    with pytest.raises(ValidationError):
        services.workorder_return(actor=handler, order=order, reason="  ", now=at)
    with pytest.raises(DomainError) as caught:
        services.workorder_return(actor=handler, order=order, reason="属新会区", now=local(2026, 11, 4))
    assert caught.value.code == "return_window_passed"
    order = services.workorder_return(actor=handler, order=order, reason="属街道职责", now=local(2026, 11, 3))
    assert order.status == WorkOrderStatus.RETURNED and order.return_count == 1
    assert order.unit is None  # the unit let go of it (test_visibility: and of its complainant)
    dispatcher = desk.actor("reg_officer")
    with pytest.raises(ValidationError) as caught:  # the table would send it straight back
        services.workorder_dispatch(actor=dispatcher, order=order, now=local(2026, 11, 3))
    assert "unit" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:  # another district's bureau
        services.workorder_dispatch(actor=dispatcher, order=order, unit=desk.xinhui_bureau, now=local(2026, 11, 3))
    assert "unit" in caught.value.message_dict
    order = services.workorder_dispatch(actor=dispatcher, order=order, unit=desk.cast.org("street_office"),
                                        now=local(2026, 11, 3))
    assert order.unit == desk.cast.org("street_office") and order.due_date == dt.date(2026, 11, 24)


def test_public_form_requires_a_location_in_jiangmen_and_a_contact_unless_anonymous(desk):
    at = local(2026, 11, 2)
    with pytest.raises(ValidationError) as caught:
        public_report(at=at, point=(None, None))
    assert "location" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        public_report(at=at, point=(116.4, 39.9))  # Beijing
    assert "location" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        public_report(at=at, complainant_phone="123")
    assert "complainant_phone" in caught.value.message_dict
    order, _code = public_report(at=at, point=XINHUI_POINT, anonymous=True, complainant_phone="123")
    assert order.district == 440705 and order.complainant_phone == "" and order.anonymous
    assert WorkOrder.objects.count() == 1


def test_hotline_push_is_idempotent_and_arrives_classified(desk):
    hotline = desk.actor("hotline_client")
    values = dict(actor=hotline, source=WorkOrderSource.HOTLINE, external_id="JM12345-2026-000001",
                  description="工地夜间施工运土", district=440703, order_type="complaint",
                  category=desk.category("site_out_of_hours"), complainant_name="李四",
                  complainant_phone="13900139000", now=local(2026, 11, 2))
    order, code = services.workorder_receive(**values)
    again, no_code = services.workorder_receive(**values)
    assert again.pk == order.pk and code and no_code is None
    assert order.status == WorkOrderStatus.CLASSIFIED and WorkOrder.objects.count() == 1


def test_dissatisfied_rating_reopens_with_a_fresh_deadline(desk):
    at = local(2026, 11, 2)
    order, _code = public_report(at=at, category=desk.category("illegal_dumping"))
    officer, handler = desk.actor("reg_officer"), desk.actor("district_officer")
    services.workorder_dispatch(actor=officer, order=order, now=at)
    services.workorder_accept(actor=handler, order=order, now=at)
    services.workorder_handle(actor=handler, order=order, note="已处理", now=at)
    services.workorder_answer(actor=handler, order=order, answer="已处理", now=at)
    with pytest.raises(ValidationError):
        services.workorder_rate(actor=None, order=order, satisfaction=1, comment="", now=at)
    order = services.workorder_rate(actor=None, order=order, satisfaction=1, comment="垃圾还在", now=local(2026, 11, 9))
    assert order.status == WorkOrderStatus.DISPATCHED and order.reopen_count == 1
    assert order.due_date == dt.date(2026, 11, 30)
    assert WorkOrderMonthlyStat.objects.get(unit=order.unit).reopened == 1


def test_extension_moves_the_deadline_by_working_days_once_a_supervisor_approves(desk):
    at = local(2026, 9, 21)
    order, _code = public_report(at=at, category=desk.category("illegal_dumping"))
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=at)
    handler = desk.actor("district_officer")
    extension = services.workorder_request_extension(actor=handler, order=order, working_days=5, reason="需联合执法",
                                                     now=at)
    with pytest.raises(DomainError):
        services.workorder_request_extension(actor=handler, order=order, working_days=3, reason="again", now=at)
    with pytest.raises(PermissionDenied):  # staff, not a supervisor
        services.workorder_decide_extension(actor=desk.actor("reg_officer"), extension=extension, approve=True)
    order.refresh_from_db()
    before = order.due_date
    services.workorder_decide_extension(actor=desk.actor("reg_admin"), extension=extension, approve=True,
                                        now=at)
    order.refresh_from_db()
    assert before == dt.date(2026, 10, 19)  # 15 working days over the National Day week
    assert order.due_date == dt.date(2026, 10, 26) and order.extended_days == 5


def test_flooding_from_one_connection_is_refused_and_stores_nothing(desk, settings):
    settings.PUBLIC_REPORTS_PER_HOUR = 3
    at = local(2026, 11, 2)
    for _ in range(3):
        public_report(at=at, client_key="k1")
    with pytest.raises(DomainError) as caught:
        public_report(at=at, client_key="k1")
    assert caught.value.code == "rate_limited" and WorkOrder.objects.count() == 3
    public_report(at=at, client_key="k2")  # another connection is not affected
    public_report(at=at + dt.timedelta(hours=1, minutes=1), client_key="k1")  # nor the next hour
    assert WorkOrder.objects.count() == 5


def test_tracking_code_is_sent_by_sms_and_opens_only_its_order(desk, settings, django_capture_on_commit_callbacks):
    from wastetrail.complaints import selectors
    from wastetrail.core import sms
    from wastetrail.core.errors import NotFound

    settings.SMS_BACKEND = "memory"
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order, code = public_report(at=local(2026, 11, 2))
    assert len(sms.outbox) == 1 and code in sms.outbox[0].text and order.number in sms.outbox[0].text
    assert selectors.workorder_track(number=order.number.lower(), code=code).pk == order.pk
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for number, attempt in ((order.number, wrong), (order.number, ""), ("WO0000", code)):
        with pytest.raises(NotFound):
            selectors.workorder_track(number=number, code=attempt)
