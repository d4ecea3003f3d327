"""The real thing: `pilotline serve` in its own process, driven by Debian's Chromium via Playwright."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.web.conftest import ARTIFACTS, chromium, log_in, serving


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    with serving(home) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def until(page: Page, expression: str, timeout_s: float = 30.0) -> None:
    """Wait until ``expression`` is true in the page. (Playwright's wait_for_function evaluates
    a string with eval, which the app's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s:g} s: {expression}"
        page.wait_for_timeout(100)


def test_manager_logs_in_and_sees_live_tiles(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server + "/")
    assert page.url.startswith(server + "/login")
    log_in(page, "mia")
    page.wait_for_selector(".tile")
    assert page.locator(".tile").count() == 6
    assert page.locator("section.line h2").all_inner_texts() == ["Line 1", "Line 2"]
    # The page refreshes itself from the API; the duration text is filled in by the script.
    # Waited for, not read at once: on a busy machine the script may run after the tiles show.
    until(page, "document.querySelector('[data-field=\"for\"]').innerText.startsWith('for ')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-manager.png"), full_page=True)
    page.close()


def test_wrong_password_is_said_plainly(server: str, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server + "/login")
    page.fill("input[name=username]", "olga")
    page.fill("input[name=password]", "nope, not it")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."
    page.close()


def test_operator_on_a_tablet_sees_only_their_line(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
    page.goto(server + "/login")
    log_in(page, "olga")
    page.wait_for_selector(".tile")
    assert page.locator("section.line h2").all_inner_texts() == ["Line 2"]
    # Touch targets big enough for gloves: the header's button and every tile's machine link.
    for target in [page.locator("header button"), *page.locator(".tile h3 a").all()]:
        box = target.bounding_box()
        assert box is not None and box["height"] >= 48, box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-operator-portrait.png"), full_page=True)
    page.close()


def test_manager_uploads_a_file_and_sees_what_was_stored(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    csv = tmp_path / "press-2 states.csv"
    csv.write_text(
        "machine,ts,state,reason\n"
        "press-2,2026-01-05T06:00:00Z,running,\n"
        "press-2,2026-01-05T07:00:00Z,stopped,tool\n"
    )
    bad = tmp_path / "broken.csv"
    bad.write_text("machine,ts,state\npress-2,yesterday,running\n")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "/data")
    log_in(page, "mia")
    page.wait_for_selector("#upload-form")
    page.set_input_files("#file", str(csv))
    page.click("#upload-form button")
    page.wait_for_selector("#upload-status.ok >> text=new")
    assert "press-2 states.csv: 2 states row(s), 2 new" in page.inner_text("#upload-status")
    page.set_input_files("#file", str(bad))
    page.click("#upload-form button")
    page.wait_for_selector("#upload-status.bad")
    assert "Nothing was imported" in page.inner_text("#upload-status")
    assert "broken.csv, row 2, column 'ts'" in page.inner_text("#upload-problems")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data-upload-problems.png"), full_page=True)
    page.close()


def test_an_operator_cannot_open_the_settings(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
    page.goto(server + "/login")
    log_in(page, "olga")
    page.wait_for_selector(".tile")
    assert page.locator("header nav a", has_text="Plant model").count() == 0
    answer = page.goto(server + "/settings")
    assert answer is not None and answer.status == 403
    assert "needs the admin role" in page.inner_text("main")
    page.close()


def test_manager_uploads_a_log_and_slides_the_map(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    log = Path(__file__).parents[3] / "shared" / "data" / "running-example.xes"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server + "/maps")
    log_in(page, "mia")
    page.wait_for_selector("#log-form")
    page.set_input_files("#log-file", str(log))
    page.click("#log-form button")
    page.wait_for_url(server + "/maps/*", timeout=30_000)
    page.wait_for_selector("#map-view[data-ready='1'] svg")
    with page.expect_response(lambda r: "/map?" in r.url and "paths=20" in r.url) as answer:
        page.fill("#paths", "20")  # a range input: fill sets its value and fires input
    assert answer.value.ok
    page.wait_for_selector("#map-view svg g.node")
    assert "Ready to automate?" in page.inner_text("main")
    routing = tmp_path / "route.toml"
    routing.write_text(
        'start = ["register request"]\nend = ["pay compensation", "reject request"]\n'
        '[transitions]\n"register request" = ["examine casually", "check ticket"]\n'
    )
    page.set_input_files("#model-file", str(routing))
    page.click("#conform-form button")
    # None of the six cases follows this model: the verdict says so in red, not green.
    page.wait_for_selector("#conform-verdict.verdict-bad", timeout=30_000)
    assert "0 of 6 cases" in page.inner_text("#conform-verdict")
    assert "unexpected step" in page.inner_text("#conform .problems")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "process-map.png"), full_page=True)
    page.close()


def test_every_page_works_under_the_content_security_policy(server: str, browser: Browser) -> None:
    """Charts, tiles and forms run with the app's CSP: the browser reports no violation."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(server + "/login")
    log_in(page, "boss")
    page.wait_for_selector(".tile")
    for path in ("/", "/machines/press-2", "/operate/press-2", "/data", "/maps", "/settings"):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
    page.goto(server + "/machines/press-2")
    page.wait_for_selector(".plotly .main-svg")  # plotly.js drew the charts
    assert page.locator(".plotly").count() >= 3
    assert violations == []
    page.close()


def test_the_api_docs_work_on_a_plant_network_without_internet(
    server: str, browser: Browser
) -> None:
    """Every request the docs page makes stays on the server: outside ones are cut off and counted."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    page.goto(server + "/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Pilotline" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert outside == []
    page.close()
