"""Schemathesis against /openapi.json: generated requests, logged in as a manager, never a 5xx,
and every answer fits what the document declares (status code, content type, schema)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from pilotline.web import create_app
from tests.web.conftest import PASSWORD, api_login


@pytest.fixture(scope="module")
def logged_in(home: Path) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(create_app(home))
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login", data={"username": "mia", "password": PASSWORD, "csrf": token.group(1)}
    )
    assert r.status_code == 200
    csrf = client.get("/api/me").json()["csrf"]
    return client, {"X-CSRF-Token": csrf}


def run(client: TestClient, headers: dict[str, str], tags: set[str] | None = None) -> Counter[int]:
    """Generated requests against every operation (with one of ``tags``): each answer must fit
    the document and none may be a server error. Returns the status codes seen."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    seen: set[tuple[str, str, int]] = set()
    statuses: Counter[int] = Counter()
    for operation in schema.get_all_operations():
        op = operation.ok()
        if tags is not None and not tags & set(op.definition.raw.get("tags", [])):
            continue

        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=op.as_strategy())
        def check(case: object) -> None:
            response = case.call(session=client, headers=headers)  # type: ignore[attr-defined]
            statuses[response.status_code] += 1
            try:
                case.validate_response(  # type: ignore[attr-defined]
                    response,
                    checks=[
                        not_a_server_error,
                        status_code_conformance,
                        content_type_conformance,
                        response_schema_conformance,
                    ],
                )
            except (AssertionError, FailureGroup) as exc:
                key = (case.method, case.path, response.status_code)  # type: ignore[attr-defined]
                if key not in seen:
                    seen.add(key)
                    failures.append(f"{key}: {response.text[:200]} -- {str(exc)[:400]}")

        check()
    assert not failures, "\n".join(failures)
    return statuses


def test_no_generated_request_gets_a_server_error(
    logged_in: tuple[TestClient, dict[str, str]],
) -> None:
    statuses = run(*logged_in)
    assert sum(statuses.values()) >= 50 and statuses[200] > 0 and statuses[422] > 0, statuses


def test_the_admin_api_fits_its_document(home: Path, tmp_path: Path) -> None:
    """As an admin, on a copy of the data (generated requests remove users and change the plant)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    client = TestClient(create_app(copy))
    statuses = run(client, {"X-CSRF-Token": api_login(client, "boss")}, tags={"users", "settings"})
    assert statuses[200] > 0 and statuses[422] > 0, statuses
