"""Helpers for the public-page tests: photos made in memory, a clean media directory, the SMS
outbox, the stacking points of the stacking app's fixture, and a staff answer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from wastetrail.complaints import services
from wastetrail.complaints.models import WorkOrder
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT
from wastetrail.core import sms
from wastetrail.registry.tests.conftest import categories  # noqa: F401 - a fixture
from wastetrail.stacking.tests.conftest import stacking  # noqa: F401 - a fixture

NAME, PHONE = "王小明", "13912345678"


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def photo(name: str = "dump.jpg", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes() if content is None else content, content_type="image/jpeg")


def report_data(**overrides) -> dict:
    """A valid public report (Pengjiang, named), as the form posts it."""
    data = {"category": "", "lon": str(PENGJIANG_POINT[0]), "lat": str(PENGJIANG_POINT[1]),
            "address": "白沙大道西路口", "description": "有人在河边倾倒装修垃圾", "reported_plate": "",
            "complainant_name": NAME, "complainant_phone": PHONE}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def outbox(settings) -> list:
    settings.SMS_BACKEND = "memory"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def answer_by_staff(desk, order: WorkOrder, answer: str = "已责令清理，现场已恢复") -> WorkOrder:
    """The dispatch centre and the unit take the order through to an answer."""
    officer = desk.actor("reg_officer")
    services.workorder_classify(actor=officer, order=order, order_type="report",
                                category=desk.category("illegal_dumping"))
    order = services.workorder_dispatch(actor=officer, order=order)
    handler = desk.actor("district_officer")
    services.workorder_accept(actor=handler, order=order)
    services.workorder_handle(actor=handler, order=order, note="内部备注：联系了施工单位负责人李四")
    return services.workorder_answer(actor=handler, order=order, answer=answer)
