"""The detail page's deadline block and the return form follow the calendar of today."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from wastetrail.complaints import services
from wastetrail.complaints.models import WorkOrderSource
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT


def test_an_overdue_order_shows_how_late_it_is_and_no_longer_offers_a_return(client, desk):
    long_ago = timezone.now() - dt.timedelta(days=60)
    order, _code = services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="偷倒", lon=PENGJIANG_POINT[0], lat=PENGJIANG_POINT[1],
        anonymous=True, category=desk.category("decoration_waste_question"), now=long_ago)
    order = services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=long_ago)
    client.force_login(desk.cast.user("district_officer"))
    page = client.get(f"/workorders/{order.pk}/")
    deadline = page.context["deadline"]
    assert deadline["working_days_left"] is None and deadline["working_days_overdue"] > 20
    assert 'data-testid="overdue-by"' in page.content.decode()
    offered = {step["name"] for step in page.context["steps"]}
    assert "return" not in offered and "accept" in offered and deadline["return_due"] is None
