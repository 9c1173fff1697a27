"""The worked examples in docs/examples/ run as tests, so that the API docs cannot go stale.

Each Markdown file there is a story: pairs of fenced ``http`` blocks, a request then the response
it gets. This module builds a small world (the names listed in docs/examples/README.md), runs
every request of a file in order against the application with Django's test client, and checks
each response: the status, and that the JSON contains what the block shows. Placeholders
``{name}`` are filled from the world and from values captured in earlier responses; ``"..."``
matches anything. A failure names the file, the line and the step.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wastetrail.accounts import services as account_services

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
ALL_DAY = (dt.time.min, dt.time.max)  # the API acts at the real time, so the plan allows any hour

FENCE = re.compile(r"^```http\n(.*?)^```$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
ANY = "..."


@dataclass
class Step:
    title: str
    line: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    expected: Any


def _split(block: str) -> tuple[str, list[str], str]:
    """First line, header lines, and what follows the first blank line (the JSON)."""
    head, _, body = block.partition("\n\n")
    first, *headers = head.strip().splitlines()
    return first.strip(), [h for h in headers if h.strip()], body.strip()


def _content_type(headers: list[str]) -> str:
    for header in headers:
        name, _, value = header.partition(": ")
        if name.lower() == "content-type":
            return value.strip()
    return "application/json"


def _request_body(headers: list[str], body: str) -> Any:
    """JSON (also the fields of a multipart form), else the text as is (a file sent as the body)."""
    if not body:
        return None
    kind = _content_type(headers)
    return json.loads(body) if kind == "application/json" or kind.startswith("multipart/") else body + "\n"


def parse(text: str) -> list[Step]:
    """Pair each request block with the response block that follows it."""
    steps: list[Step] = []
    request: tuple[int, str] | None = None
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        first, headers, body = _split(match.group(1))
        if not first.startswith("HTTP/"):
            assert request is None, f"line {line}: a request follows a request without a response"
            request = (line, match.group(1))
            continue
        assert request is not None, f"line {line}: a response without a request"
        req_line, req_block = request
        req_first, req_headers, req_body = _split(req_block)
        method, path = req_first.split(" ", 1)
        titles = [m.group(1) for m in HEADING.finditer(text, 0, match.start())]
        steps.append(Step(
            title=titles[-1] if titles else "", line=req_line, method=method, path=path.strip(),
            headers=dict(h.split(": ", 1) for h in req_headers), body=_request_body(req_headers, req_body),
            status=int(first.split()[1]), expected=json.loads(body) if body else None,
        ))
        request = None
    assert request is None, f"line {request[0]}: a request without a response"
    return steps


def fill(value: Any, names: dict[str, Any]) -> Any:
    """Replace placeholders in a request: "{name}" alone becomes the value itself (a number stays
    a number); inside text, its text."""
    if isinstance(value, dict):
        return {key: fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return names[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(names[m.group(1)]), value)
    return value


def match(expected: Any, actual: Any, names: dict[str, Any], where: str = "") -> str | None:
    """None if ``actual`` contains ``expected``, else what differs. Unknown "{name}" placeholders
    capture the actual value into ``names``."""
    if expected == ANY:
        return None
    if isinstance(expected, str) and (whole := PLACEHOLDER.fullmatch(expected)):
        name = whole.group(1)
        if name not in names:
            names[name] = actual
            return None
        expected = names[name]
    elif isinstance(expected, str):
        expected = fill(expected, names)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where or 'body'}: expected an object, got {actual!r}"
        for key, item in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing"
            if problem := match(item, actual[key], names, f"{where}.{key}"):
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where or 'body'}: expected {len(expected)} items, got {actual!r}"
        for n, (item, got) in enumerate(zip(expected, actual, strict=True)):
            if problem := match(item, got, names, f"{where}[{n}]"):
                return problem
        return None
    if expected != actual or type(expected) is bool and type(actual) is not bool:
        return f"{where or 'body'}: expected {expected!r}, got {actual!r}"
    return None


def run(path: Path, client, names: dict[str, Any]) -> None:
    steps = parse(path.read_text(encoding="utf-8"))
    assert steps, f"{path.name}: no steps"
    for number, step in enumerate(steps, 1):
        where = f"{path.name}:{step.line} step {number} ({step.title})"
        headers = {key: fill(value, names) for key, value in step.headers.items()}
        body = fill(step.body, names)
        response = client.generic(step.method, fill(step.path, names),
                                  data=json.dumps(body) if body is not None else "",
                                  content_type="application/json", headers=headers)
        content = response.content.decode()
        assert response.status_code == step.status, (
            f"{where}: expected HTTP {step.status}, got {response.status_code}: {content[:500]}")
        if step.expected is not None:
            problem = match(step.expected, json.loads(content), names)
            assert problem is None, f"{where}: {problem}\nresponse: {content[:2000]}"


@pytest.fixture
def world(cast, make_ready_load) -> dict[str, Any]:
    """The names the examples start from (docs/examples/README.md), built through the services."""
    load = make_ready_load(extra_sites=1, window=ALL_DAY)
    unplanned = make_ready_load(file_plan=False)

    def token(username: str) -> str:
        return account_services.api_token_create(actor=cast.actor(username), name="worked example")[1]

    return {
        "builder_token": token("construction_staff"), "carrier_token": token("transport_admin"),
        "driver_token": token("driver"), "site_token": token("site_operator"),
        "project_id": load.project.pk, "unplanned_project_id": unplanned.project.pk,
        "vehicle_id": load.vehicle.pk, "plate": load.vehicle.plate, "driver_id": load.driver.pk,
        "site_id": load.sites[0].pk, "other_site_id": load.sites[1].pk,
    }


# stacking-*.md start from another world: wastetrail/stacking/tests/test_worked_example.py runs them;
# workorder-*.md too: wastetrail/complaints/tests/test_api_examples.py.
EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*.md") if not p.name.startswith(("stacking-", "workorder-")))


def test_every_example_file_is_run():
    names = {path.name for path in EXAMPLE_FILES}
    assert {"manifest-lifecycle.md", "manifest-refusals.md", "manifest-revision.md"} <= names
    # README.md explains the format; it shows a step too, but not one to run.
    assert all(parse(path.read_text(encoding="utf-8")) for path in EXAMPLE_FILES if path.name != "README.md")


@pytest.mark.parametrize("path", [p for p in EXAMPLE_FILES if p.name != "README.md"], ids=lambda p: p.name)
def test_worked_example(path, client, world):
    run(path, client, dict(world))


def test_a_wrong_expectation_fails_naming_the_file_line_and_step(tmp_path, client, world):
    broken = tmp_path / "broken.md"
    broken.write_text(
        "# Broken\n\n## Issue with a wrong status\n\n"
        "```http\nPOST /api/manifests/{vehicle_id}/arrive\nAuthorization: Bearer {site_token}\n```\n\n"
        "```http\nHTTP/1.1 200 OK\n\n{\"status\": \"arrived\"}\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match=r"broken\.md:5 step 1 \(Issue with a wrong status\): expected HTTP 200"):
        run(broken, client, dict(world))


def test_the_matcher_captures_compares_and_ignores():
    names: dict[str, Any] = {"plate": "粤J00001"}
    actual = {"id": 7, "number": "JM1", "plate": "粤J00001", "extra": 1, "at": "2026-01-01",
              "list": [{"a": 1, "b": 2}], "text": "Vehicle 粤J00001 is busy"}
    expected = {"id": "{manifest_id}", "plate": "{plate}", "at": ANY, "list": [{"a": 1}],
                "text": "Vehicle {plate} is busy"}
    assert match(expected, actual, names) is None and names["manifest_id"] == 7
    assert match({"id": "{manifest_id}"}, {"id": 8}, names) == ".id: expected 7, got 8"
    assert match({"list": [{"a": 1}, {"a": 2}]}, actual, names).startswith(".list: expected 2 items")
    assert match({"missing": 1}, actual, names) == ".missing: missing"
    assert match({"flag": False}, {"flag": 0}, names) is not None
    assert fill({"site_id": "{manifest_id}", "path": "/x/{manifest_id}"}, names) == {"site_id": 7, "path": "/x/7"}
