"""Files that no reader understands get a 422 with a reason, never a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.web import create_app
from tests.web.conftest import api_login

GARBAGE = b"\x00\x01PAR1 not really \xff\xfe" * 50


@pytest.mark.parametrize(
    "endpoint,name",
    [
        ("/api/imports", "states.parquet"),
        ("/api/imports", "states.xlsx"),
        ("/api/imports", "states.csv"),
        ("/api/imports/preview", "states.csv"),  # Excel and Parquet: the readers above
        ("/api/logs", "log.parquet"),
        ("/api/logs", "log.xes.gz"),
        ("/api/logs", "log.sqlite"),
        ("/api/logs", "log.json"),
        ("/api/logs", "log.csv"),
    ],
)
def test_garbage_is_refused_with_a_reason(clock_home: Path, endpoint: str, name: str) -> None:
    with TestClient(create_app(clock_home), raise_server_exceptions=False) as client:
        csrf = api_login(client, "mia")
        r = client.post(
            endpoint,
            params={"filename": name},
            content=GARBAGE,
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 422, (name, r.status_code, r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"
        assert name in r.json()["detail"] or r.json().get("problems")
        assert str(clock_home) not in r.text
    assert not any((clock_home / "logs").glob("*/meta.json"))
