"""The docs, served read-only by the app itself: plant networks are often cut off from the internet,
so the "how" links of the checklist and the empty states must work without it.

``/docs`` lists the markdown files of the repository's ``docs/`` folder; ``/docs/NAME.md`` shows
one, rendered by markdown-it (CommonMark and tables; raw HTML in a file is shown as text, never
run) with GitHub's heading anchors, so the docs' own links (``kpis.md``, ``web.md#assess``) work
here too; ``/docs/examples/FILE`` gives a sample file as plain text. Only names of files that are
there are served: nothing outside the folder can be reached.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from markdown_it import MarkdownIt

import pilotline
from pilotline.errors import NotFound
from pilotline.web.context import Web
from pilotline.web.users import User

#: The repository's docs (``src/pilotline/__init__.py`` → the checkout's ``docs/``).
#: The docs ship inside the package (``pilotline/docs``, a link to the checkout's ``docs`` folder that
#: the wheel carries as files), so an installed Pilotline serves them too.
DOCS = Path(pilotline.__file__).parent / "docs"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.md$")
_SAMPLE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(csv|toml)$")
_MISSING = (
    "The documentation is not installed with this copy of Pilotline: it is the docs/ folder of "
    "Pilotline's source, which an installation from a wheel does not carry."
)


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def render(text: str) -> str:
    """Markdown to HTML: raw HTML is escaped, headings get their anchors."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and i + 1 < len(tokens):
            token.attrSet("id", slug(tokens[i + 1].content))
    html: str = md.renderer.render(tokens, md.options, {})
    return html


def titles(folder: Path = DOCS) -> list[dict[str, str]]:
    """Every doc with its first heading, by file name."""
    found = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        if not _NAME.match(path.name):
            continue
        found.append(
            {"name": path.name, "title": _title(path.read_text(encoding="utf-8"), path.stem)}
        )
    return found


def routes(app: FastAPI, web: Web) -> None:
    anyone = web.need("operator")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_index(request: Request, user: User = anyone) -> Response:
        return web.page(
            request, "doc.html", user, title="Documentation", docs=titles(), missing=_MISSING
        )

    @app.get("/docs/examples/{name}", include_in_schema=False)
    def docs_sample(name: str, user: User = anyone) -> Response:
        path = DOCS / "examples" / name
        if not _SAMPLE.match(name) or not path.is_file():
            raise NotFound(f"no sample file {name[:60]!r}")
        return PlainTextResponse(
            path.read_text(encoding="utf-8"),
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    @app.get("/docs/{name}", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request, name: str, user: User = anyone) -> Response:
        path = DOCS / name
        if not _NAME.match(name) or not path.is_file():
            raise NotFound(f"no document {name[:60]!r}")
        text = path.read_text(encoding="utf-8")
        ctx: dict[str, Any] = {"title": _title(text, name), "body": render(text), "name": name}
        return web.page(request, "doc.html", user, **ctx)


def _title(text: str, name: str) -> str:
    return next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), name)
