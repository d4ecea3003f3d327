"""``pilotline assess``: the JSON contract of score and recommend, bad input storing nothing,
and erasing a person from the store, the roadmap and every export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.assess.conftest import fill
from tests.assess.test_scoring import WORKED
from tests.conftest import WORKED_EXAMPLE_PLANT

runner = CliRunner()
DIMS = {
    "digital_business_strategy",
    "digital_readiness",
    "human_centric_digitalisation",
    "data_management",
    "automation_ai",
    "green_digitalisation",
}


def _run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def home(tmp_path: Path, worked_plant: Plant) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT, encoding="utf-8")
    store = EmbeddedStore(home, lock_timeout_s=5)
    fill(
        store,
        worked_plant,
        days=40,
        stops=[("changeover", 60), ("breakdown", 15)],
        machines=("m1", "m2"),
    )
    return home


def test_score_json_contract(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(WORKED, encoding="utf-8")
    doc = json.loads(_run(tmp_path / "h", "assess", "score", str(path), "--format", "json"))
    assert set(doc["dimensions"]) == DIMS
    assert doc["overall"] == 36.9 and doc["band"] == "Average"
    assert all(0 <= v <= 100 for v in doc["dimensions"].values())


def test_recommend_json_contract_and_the_pilot_file(home: Path, tmp_path: Path) -> None:
    pilot = tmp_path / "next.toml"
    doc = json.loads(
        _run(
            home,
            "assess",
            "recommend",
            "--value-per-hour",
            "100",
            "--pilot",
            str(pilot),
            "--format",
            "json",
        )
    )
    assert doc[0]["step"] == "quick_changeover" and doc[0]["rank"] == 1
    keys = {"step", "title", "category", "addresses", "rank", "blocked_by", "value_per_year", "why"}
    for row in doc:
        assert keys <= set(row)
        assert set(row["value_per_year"]) == {"low", "high"}
        assert (row["rank"] is None) == bool(row["blocked_by"])
    _run(home, "pilot", "plan", str(pilot))


def test_bad_answers_are_refused_and_nothing_is_stored(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(WORKED.replace("dbs_plan", "dbs_plans"), encoding="utf-8")
    result = runner.invoke(app, ["--home", str(home), "assess", "answer", str(bad)])
    assert result.exit_code != 0
    assert "unknown question id 'dbs_plans'" in str(result.exception)
    assert "question dbs_plan (a written plan" in str(result.exception)
    with EmbeddedStore(home, lock_timeout_s=5).session() as s:
        assert s.scalar("SELECT count(*) FROM assess_answers") == 0


def test_erasing_a_person_leaves_their_name_nowhere(home: Path, tmp_path: Path) -> None:
    name = "Ada Quint"
    answers = tmp_path / "a.toml"
    # A respondent is a role, never a name: the answers file cannot carry hers.
    answers.write_text(WORKED.replace('"owner"', f'"{name}"'), encoding="utf-8")
    refused = runner.invoke(app, ["--home", str(home), "assess", "answer", str(answers)])
    assert refused.exit_code != 0 and "the respondent is a role" in str(refused.exception)
    answers.write_text(WORKED, encoding="utf-8")
    _run(home, "assess", "answer", str(answers))
    _run(home, "assess", "skills", "set", name, "changeover", "3")
    _run(home, "assess", "skills", "set", "ada quint", "changeover", "3")  # the same person
    _run(home, "assess", "skills", "set", "Bo", "changeover", "1")
    assert name in _run(home, "assess", "skills", "export", name)
    roadmap = tmp_path / "roadmap.html"
    _run(home, "assess", "roadmap", "--out", str(roadmap), "--value-per-hour", "100")
    assert name in roadmap.read_text(encoding="utf-8")  # the single-holder warning names them

    _run(home, "assess", "skills", "erase", name)
    store = EmbeddedStore(home, lock_timeout_s=5)
    with store.session() as s:
        tables = [
            r["table_name"]
            for r in s.arrow("SELECT table_name FROM information_schema.tables").to_pylist()
        ]
        for table in tables:
            rows = s.arrow(f"SELECT * FROM {table}").to_pylist()
            assert name not in json.dumps(rows, default=str), table
    _run(home, "assess", "roadmap", "--out", str(roadmap), "--value-per-hour", "100")
    export = tmp_path / "dma.json"
    _run(home, "assess", "export", str(export))
    shown = _run(home, "assess", "skills", "show", "--format", "json")
    for text in (roadmap.read_text(encoding="utf-8"), export.read_text(encoding="utf-8"), shown):
        assert name not in text
    result = runner.invoke(app, ["--home", str(home), "assess", "skills", "export", name])
    assert result.exit_code != 0 and "nothing is kept" in str(result.exception)


@pytest.mark.parametrize(
    ("change", "args", "says"),
    [
        (None, ["--round", "<script>alert(1)</script>"], "a round is T0, T1"),
        (
            ('respondent = "owner"', 'respondent = "owner"\nround = "../../etc"'),
            [],
            "a round is T0",
        ),
        (None, ["--respondent", "Hans Müller"], "the respondent is a role"),
        (('respondent = "owner"', "respondent = 5"), [], "the respondent is a role"),
    ],
)
def test_rounds_and_respondents_are_checked_before_anything_is_kept(
    home: Path, tmp_path: Path, change: tuple[str, str] | None, args: list[str], says: str
) -> None:
    text = WORKED if change is None else WORKED.replace(*change)
    assert change is None or text != WORKED
    answers = tmp_path / "a.toml"
    answers.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["--home", str(home), "assess", "answer", str(answers), *args])
    assert result.exit_code != 0 and says in str(result.exception)
    with EmbeddedStore(home, lock_timeout_s=5).session() as s:
        assert s.scalar("SELECT count(*) FROM assess_answers") == 0


def test_a_dma_import_with_an_odd_round_or_a_name_is_refused(home: Path, tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text(WORKED, encoding="utf-8")
    _run(home, "assess", "answer", str(answers))
    export = tmp_path / "dma.json"
    _run(home, "assess", "export", str(export))
    doc = json.loads(export.read_text(encoding="utf-8"))
    for bad, says in (
        ({**doc, "round": "Tx1"}, "a round is T0, T1"),
        ({**doc, "responses": [{**doc["responses"][0], "role": "Ingrid Bergman"}]}, "a role"),
    ):
        export.write_text(json.dumps(bad), encoding="utf-8")
        result = runner.invoke(app, ["--home", str(home), "assess", "import", str(export)])
        assert result.exit_code != 0 and says in str(result.exception)
    export.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = runner.invoke(app, ["--home", str(home), "assess", "import", str(export)])
    assert result.exit_code != 0 and "nested too deeply" in str(result.exception)


def test_messages_keep_their_square_brackets(home: Path, tmp_path: Path) -> None:
    """Rich must not take '[answers]' in an error for markup and swallow it."""
    import subprocess
    import sys

    empty = tmp_path / "empty.toml"
    empty.write_text('respondent = "owner"\n', encoding="utf-8")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "pilotline"),
            "--home",
            str(home),
            "assess",
            "score",
            str(empty),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1 and "no [answers] table" in done.stderr, done.stderr
