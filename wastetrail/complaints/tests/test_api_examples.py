"""The work-order examples in docs/examples/workorder-*.md run as tests, like the manifest ones.

The format is the one docs/examples/README.md describes (the manifests' runner parses the files
and supplies the matcher); requests here may also send a form (``Content-Type: multipart/form-data``, the JSON
object's fields as the form's) or a file as the body (any other ``Content-Type``, the text as
is). SMS texts sent along the way are read for the tracking code the complainant receives:
``{sms_code}``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from wastetrail.accounts import services as account_services
from wastetrail.core import sms
from wastetrail.manifests.tests.test_worked_examples import fill, match, parse

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("workorder-*.md"))
SMS_CODE = re.compile(r"code (\d{6})")


def run(path: Path, client, names: dict[str, Any], on_commit) -> None:
    """``on_commit``: pytest-django's django_capture_on_commit_callbacks, so that what a step
    does after its commit (the SMS) happens before the next step."""
    steps = parse(path.read_text(encoding="utf-8"))
    assert steps, f"{path.name}: no steps"
    sms.outbox.clear()
    for number, step in enumerate(steps, 1):
        where = f"{path.name}:{step.line} step {number} ({step.title})"
        headers = {key: fill(value, names) for key, value in step.headers.items()}
        kind = headers.pop("Content-Type", "application/json")
        body = fill(step.body, names)
        url = fill(step.path, names)
        with on_commit(execute=True):
            if kind.startswith("multipart/"):
                response = client.post(url, body or {}, headers=headers)
            elif kind == "application/json":
                response = client.generic(step.method, url, data=json.dumps(body) if body is not None else "",
                                          content_type=kind, headers=headers)
            else:
                response = client.generic(step.method, url, data=(body or "").encode("utf-8"), content_type=kind,
                                          headers=headers)
        content = response.content.decode()
        assert response.status_code == step.status, (
            f"{where}: expected HTTP {step.status}, got {response.status_code}: {content[:500]}")
        if step.expected is not None:
            problem = match(step.expected, json.loads(content), names)
            assert problem is None, f"{where}: {problem}\nresponse: {content[:2000]}"
        for message in sms.outbox:
            if code := SMS_CODE.search(message.text):
                names["sms_code"] = code.group(1)


@pytest.fixture
def world(desk, settings) -> dict[str, Any]:
    """The names the work-order examples start from (listed at the top of each file)."""
    settings.HOTLINE_FEED_SETTLE_SECONDS = 0
    settings.SMS_BACKEND = "memory"

    def token(username: str) -> str:
        return account_services.api_token_create(actor=desk.actor(username), name="worked example")[1]

    return {
        "hotline_token": token("hotline_client"), "dispatcher_token": token("reg_officer"),
        "handler_token": token("district_officer"), "supervisor_token": token("reg_admin"),
        "xinhui_token": token("xinhui_officer"), "unit_name": desk.cast.org("district_regulator").name,
    }


def test_every_workorder_example_is_run():
    assert {"workorder-lifecycle.md", "workorder-import.md"} <= {path.name for path in EXAMPLE_FILES}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_workorder_example(path, client, world, django_capture_on_commit_callbacks):
    run(path, client, dict(world), django_capture_on_commit_callbacks)
