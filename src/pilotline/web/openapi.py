"""The OpenAPI document as a client needs it: how to authenticate, and every error answer.

FastAPI writes the operations from the routes; this adds what it cannot know:

- the two ways in: an API token as ``Authorization: Bearer …`` (for scripts), or the browser's
  session cookie with the session's CSRF token in ``X-CSRF-Token`` on writes;
- the error answers every ``/api`` operation can give, as RFC 9457 problem documents
  (``application/problem+json``): 401 not logged in, 403 role, 404 when it names something,
  409 a conflict on a write, 422 a request that does not fit;
- a summary for every operation: the first sentence of the route's docstring, so that the text a
  person reads in Swagger UI is the one written next to the code.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM = "#/components/schemas/Problem"

#: RFC 9457 problem details, as ``web.app.problem`` writes them.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "What went wrong, in plain words (RFC 9457 problem details).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "Always about:blank: the title says it."},
        "title": {"type": "string", "description": "What went wrong, in a few words."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "Where, and what was expected."},
        "errors": {
            "type": "array",
            "description": "For an invalid request: each field and what is wrong with it.",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

ERRORS = {
    "401": "Not logged in, or the API token is unknown or revoked.",
    "403": "The user's role (or lines) does not allow this, or the CSRF token is missing.",
    "404": "Nothing with that name or id, or not one the user may see.",
    "409": "Conflicts with the current state: changed meanwhile, or needs confirming.",
    "413": "The file is larger than the server accepts.",
    "415": "Not a file type this accepts (CSV, Excel, Parquet, XES, …).",
    "422": "The request does not fit: each field and what was expected.",
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`pilotline user token NAME`, or the users page).",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "pilotline_session",
        "description": "The browser's login; writes also need the X-CSRF-Token header "
        "(from GET /api/me).",
    },
}


def summary_of(description: str) -> str:
    """The first sentence of a docstring, on one line: what Swagger UI shows beside the path."""
    text = " ".join(description.split())
    first = re.split(r"(?<=[.:;])\s|\s\(", text, maxsplit=1)[0].rstrip(".:;")
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + " …"


def _problem_response(text: str) -> dict[str, Any]:
    return {
        "description": text,
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM}}},
    }


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add security, problem answers and summaries to a FastAPI OpenAPI document (in place)."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    # FastAPI's own 422 shape is never sent: the app answers every invalid request with a problem.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = SECURITY_SCHEMES
    doc["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if not path.startswith("/api/"):
                continue
            auto = op.get("summary", "").lower().replace(" ", "_")
            if op.get("description") and op.get("operationId", "").startswith(auto):
                op["summary"] = summary_of(op["description"])
            responses = op.setdefault("responses", {})
            codes = ["401", "403", "422"]
            if "{" in path or op.get("parameters"):
                codes.append("404")  # names a machine, log, pilot, … that is not there
            if method in {"post", "put", "patch", "delete"}:
                codes.append("409")
            body = op.get("requestBody", {}).get("content", {})
            names = {p.get("name") for p in op.get("parameters", [])}
            if "filename" in names or any(kind != "application/json" for kind in body):
                codes += ["413", "415"]  # a file sent as the body
            # Codes a route declares itself (``responses=``) are problems too.
            codes += [c for c in responses if c.startswith("4") and c not in codes]
            for code in codes:
                # A route's own text for a code (e.g. what its 409 means) is kept.
                text = responses.get(code, {}).get("description") if code != "422" else None
                responses[code] = _problem_response(text or ERRORS.get(code, "Refused."))
    return doc


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and /openapi.json) return the completed document, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
