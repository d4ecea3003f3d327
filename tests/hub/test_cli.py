"""The coordinator's commands end to end, in process: init, firm add (and its refusals), demo,
release, the ledger, export, erase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.errors import InputError, StoreError
from pilotline.hub.signing import new_key, public_of


def hub(d: Path, *args: str):
    return CliRunner().invoke(app, ["hub", *args, "--dir", str(d)])


def test_coordinator_commands(tmp_path: Path) -> None:
    d = tmp_path / "hub"
    assert isinstance(hub(d, "firm", "list").exception, StoreError)  # no hub yet: says so
    assert hub(d, "init").exit_code == 0
    key = public_of(new_key())
    ok = hub(d, "firm", "add", "acme", "--name", "Acme", "--sector", "metal", "--size-band",
             "small", "--region", "north", "--key", key)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    for bad, why in (
        (["--size-band", "huge"], "micro, small, medium, large"),
        (["--key", "not-a-key"], "not an Ed25519 key"),
        (["--region", "Total"], "not 'Total'"),
    ):
        args = {"--name": "B", "--sector": "metal", "--size-band": "small", "--region": "north"}
        args.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        r = hub(d, "firm", "add", "bee", *[x for kv in args.items() for x in kv])
        assert isinstance(r.exception, InputError) and why in str(r.exception)
    r = hub(d, "firm", "add", "acme", "--name", "A", "--sector", "s", "--size-band", "small",
            "--region", "r")  # fmt: skip
    assert "already registered" in str(r.exception)

    demo = tmp_path / "demo"
    r = hub(demo, "demo", "--firms", "12", "--months", "1", "--seed", "3")
    assert r.exit_code == 0 and "release 1" in r.output
    r = hub(demo, "release", "--format", "json")
    rel = json.loads(r.output)
    assert rel["version"] == 2 and rel["firms"] == 12 and rel["suppressed"] > 0
    ledger = json.loads(
        hub(demo, "consent", "ledger", "--firm", "firm-0002", "--format", "json").output
    )
    assert ledger and {r["firm"] for r in ledger} == {"firm-0002"}
    exported = json.loads(hub(demo, "consent", "export", "--firm", "firm-0002").output)
    assert exported["firm"]["id"] == "firm-0002" and exported["items"]
    out = tmp_path / "edih.csv"
    assert hub(demo, "export", "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("section,size_band,sector,region,support,entities")
    assert "Erased firm-0002" in hub(demo, "consent", "erase", "--firm", "firm-0002").output
    r = hub(demo, "consent", "export", "--firm", "firm-0002")
    assert "no firm 'firm-0002'" in str(r.exception)
    r = hub(demo, "consent", "erase")
    assert "name one" in str(r.exception)


@pytest.mark.parametrize("bad", [["--nk", "2;85"], ["--p", "140"], ["--min-firms", "0"]])
def test_disclosure_settings_are_checked(tmp_path: Path, bad: list[str]) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("row,col,firm,value\nA,X,f1,1\n")
    r = CliRunner().invoke(app, ["hub", "disclosure", str(csv), *bad])
    assert isinstance(r.exception, InputError)
