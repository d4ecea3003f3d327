"""Strings on the pages are ready for translation: every visible word goes through gettext."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from pilotline.web import create_app
from pilotline.web.context import HERE

NOT_TRANSLATED = {"Pilotline"}  # the product's name


def visible_words(template: str) -> list[str]:
    text = re.sub(r"<(script|style)\b.*?</\1>", "", template, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", text) if w not in NOT_TRANSLATED]


def test_no_template_has_text_outside_gettext() -> None:
    templates = sorted((HERE / "templates").glob("*.html"))
    assert len(templates) >= 10
    assert {t.name: visible_words(t.read_text()) for t in templates} == {
        t.name: [] for t in templates
    }
    assert visible_words("<p>Hello {{ _('there') }}</p>") == ["Hello"]  # the check can fail


def test_a_catalogue_changes_the_pages(clock_home: Path) -> None:
    app = create_app(clock_home)
    env = app.state.web.templates.env
    env.install_gettext_callables(  # a stand-in catalogue: SHOUTING ENGLISH
        lambda s: s.upper(), lambda s, p, n: (s if n == 1 else p).upper(), newstyle=True
    )
    with TestClient(app) as client:
        page = client.get("/login").text
    assert "<h1>LOG IN</h1>" in page and "USER NAME" in page
