"""The OpenAPI document tells a client how to log in and what every error looks like, and the
app keeps to it: real error answers validate against the declared problem schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from pilotline.web import Users, create_app
from pilotline.web.openapi import summary_of
from tests.web.conftest import api_login


@pytest.fixture(scope="module")
def client(home: Path) -> TestClient:
    return TestClient(create_app(home))


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def api_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/")
        for method, op in ops.items()
    ]


def test_both_ways_in_are_declared(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["sessionCookie"]["name"] == "pilotline_session"
    assert {"bearerToken": []} in doc["security"]


def test_every_operation_declares_its_error_answers_and_has_a_written_summary(
    doc: dict[str, Any],
) -> None:
    ops = api_operations(doc)
    assert len(ops) >= 40
    for method, path, op in ops:
        where = f"{method.upper()} {path}"
        codes = set(op["responses"])
        assert {"401", "403", "422"} <= codes, where
        if "{" in path:
            assert "404" in codes, where
        if method != "get":
            assert "409" in codes, where
        for code in codes - {"200", "201", "204"}:
            content = op["responses"][code]["content"]
            assert content == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (where, code)
        # FastAPI's fallback is the function's name in title case ("Api Machine Oee").
        assert not op["summary"].startswith("Api "), where
        assert 3 <= len(op["summary"]) <= 90, where
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_real_error_answers_fit_the_declared_problem_schema(
    home: Path, doc: dict[str, Any]
) -> None:
    validator = jsonschema_rs.validator_for(doc["components"]["schemas"]["Problem"])
    anonymous = TestClient(create_app(home))
    answers = [
        anonymous.get("/api/machines"),  # 401: not logged in
        anonymous.get("/api/machines", headers={"Authorization": "Bearer not-a-token"}),
    ]
    manager = TestClient(create_app(home))
    csrf = api_login(manager, "mia")
    answers += [
        manager.get("/api/users"),  # 403: admins only
        manager.get("/api/machines/no-such-machine/stops"),  # 404
        manager.get("/api/pareto", params={"start": "yesterday"}),  # 422
        manager.post(
            "/api/machines/P1/scrap", json={"count": "many"}, headers={"X-CSRF-Token": csrf}
        ),  # 422 from the body's validation
    ]
    assert [r.status_code for r in answers] == [401, 401, 403, 404, 422, 422]
    for r in answers:
        assert r.headers["content-type"] == "application/problem+json"
        validator.validate(r.json())
        assert r.json()["status"] == r.status_code


def test_a_bearer_token_alone_reads_the_api(home: Path) -> None:
    token = Users(create_app(home).state.web.store).new_token("mia", "openapi test")
    client = TestClient(create_app(home))
    r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["username"] == "mia"


@pytest.mark.parametrize(
    ("doc", "summary"),
    [
        ("Undo a scrap entry: its maker within a few minutes.", "Undo a scrap entry"),
        ("The pilot (its fields).", "The pilot"),
        ("One line\nover two.", "One line over two"),
        ("word " * 40, ("word " * 17).strip() + " …"),
    ],
)
def test_a_fallback_summary_is_the_docstrings_first_sentence(doc: str, summary: str) -> None:
    assert summary_of(doc) == summary
