"""AASX: what a partner's grants cover, written by basyx and read back equal; a partner's file
that is not a zip or holds an invalid model is refused plainly and nothing is imported."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pilotline import clock
from pilotline.cli import app
from pilotline.errors import InputError
from pilotline.plant import load_plant
from pilotline.share import files
from pilotline.share.files import (
    from_json,
    imported,
    imported_dir,
    read_aasx,
    to_json,
    write_aasx,
)
from pilotline.share.partners import Partners
from pilotline.share.service import Service
from pilotline.store import EmbeddedStore
from tests.conftest import NOW
from tests.share.conftest import Shared


@pytest.fixture(scope="module")
def view(shared: Shared) -> dict[str, Any]:
    """What acme receives (one catalogue build for the module)."""
    plant = load_plant(shared.home / "plant.toml")
    service = Service(shared.home, EmbeddedStore(shared.home), lambda: plant)
    with clock.fixed(NOW):
        return dict(service.preview("acme"))


def _canon(doc: dict[str, list[dict[str, object]]]) -> dict[str, list[str]]:
    return {k: sorted(json.dumps(x, sort_keys=True) for x in v) for k, v in doc.items()}


def test_export_reads_back_equal_and_imports(shared: Shared, view: dict[str, Any],
                                             tmp_path: Path) -> None:  # fmt: skip
    objects = from_json(view["assetAdministrationShells"], view["submodels"])
    path = tmp_path / "acme.aasx"
    write_aasx(path, objects)
    back = read_aasx(path)
    assert _canon(to_json(back)) == _canon(to_json(objects))
    assert {o.id for o in back} >= {"urn:pilotline:demo-works:sm:machine:press-1:kpi"}
    # the CLI writes the same package and a second firm imports it into its own model
    other = tmp_path / "other"
    other.mkdir()
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "--home",
            str(shared.home),
            "share",
            "export",
            "acme",
            "--aasx",
            str(tmp_path / "cli.aasx"),
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--home", str(other), "share", "import", str(tmp_path / "cli.aasx")])
    assert r.exit_code == 0, r.output
    assert {o.id for o in imported(other)} == {o.id for o in objects}


def _broken_model(src: Path, dst: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if (
                item.filename.endswith((".xml", ".json"))
                and b"submodel" in data.lower()
                and "aasx/" in item.filename
            ):
                data = data.replace(b"<aas:idShort>", b"<aas:idShort>1 bad ", 1).replace(
                    b'"idShort": "', b'"idShort": "1 bad ', 1
                )
            zout.writestr(item, data)


def test_bad_files_are_refused_and_nothing_is_imported(
    view: dict[str, Any], tmp_path: Path
) -> None:
    not_zip = tmp_path / "x.aasx"
    not_zip.write_text("hello")
    with pytest.raises(InputError, match=r"not an AASX package .*zip"):
        read_aasx(not_zip)
    empty_zip = tmp_path / "empty.aasx"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match=r"not a valid AASX|holds no shell"):
        read_aasx(empty_zip)
    good = tmp_path / "good.aasx"
    write_aasx(good, from_json(view["assetAdministrationShells"], view["submodels"]))
    bad = tmp_path / "bad.aasx"
    _broken_model(good, bad)
    with pytest.raises(InputError, match="not a valid AASX package"):
        read_aasx(bad)
    r = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "import", str(bad)])
    assert r.exit_code != 0 and "not a valid AASX package" in str(r.exception)
    assert not imported_dir(tmp_path).exists()
    with pytest.raises(InputError, match="not a valid AAS model"):
        from_json([], [{"modelType": "Submodel", "id": "urn:x", "idShort": "1 bad"}])


def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    view: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part that unpacks to far more than the file (here 4 MiB from a few KiB) is refused by
    the sizes the zip declares; Python's zip reader never unpacks more than those."""
    good = tmp_path / "good.aasx"
    write_aasx(good, from_json(view["assetAdministrationShells"], view["submodels"]))
    bomb = tmp_path / "bomb.aasx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr("aasx/padding.xml", b" " * (4 << 20))
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(files, "MAX_UNPACKED_BYTES", 2 << 20)
    with pytest.raises(InputError, match=r"unpacks to 4,"):
        read_aasx(bomb)


def test_objects_named_as_the_firms_own_are_not_imported(
    shared: Shared, view: dict[str, Any], tmp_path: Path
) -> None:
    """A package holding this firm's own identifiers (such as its own export sent back, or a
    forged KPI submodel urn:pilotline:demo-works:sm:machine:press-1:kpi2 that a grant on press-1
    would serve) is refused, and nothing is kept."""
    (tmp_path / "plant.toml").write_text((shared.home / "plant.toml").read_text())
    mine = tmp_path / "mine.aasx"
    write_aasx(mine, from_json(view["assetAdministrationShells"], view["submodels"]))
    r = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "import", str(mine)])
    assert isinstance(r.exception, InputError), r.output
    assert "named as this firm's own (urn:pilotline:demo-works:" in str(r.exception)
    assert not imported_dir(tmp_path).exists()


def test_a_grant_of_one_machines_time_series_covers_them(shared: Shared) -> None:
    """--submodel timeseries --machine press-1 gave nothing when series were named
    urn:…:sm:series:<name>: they now sit under their machine's identifiers."""
    plant = load_plant(shared.home / "plant.toml")
    store = EmbeddedStore(shared.home)
    service = Service(shared.home, store, lambda: plant)
    partners = Partners(store, shared.home)
    got = {}
    with clock.fixed(NOW):
        for machine in ("press-1", "press-2"):
            rule = partners.rule_for("acme", plant=plant, submodel="timeseries", machine=machine)
            view = service.preview("acme", extra=rule)
            got[machine] = sorted(s["id"] for s in view["submodels"] if ":series:" in s["id"])
    assert got == {"press-1": [
        "urn:pilotline:demo-works:sm:machine:press-1:series:press-1-oee:timeseries",
        "urn:pilotline:demo-works:sm:machine:press-1:series:press-1-temperature:timeseries",
    ], "press-2": []}  # fmt: skip


def test_what_a_partner_gave_without_onward_sharing_is_never_passed_on(
    view: dict[str, Any], tmp_path: Path
) -> None:
    """acme's package says it may not pass the KPI on; a firm importing it keeps it for its own
    use: no grant may cover it, and no rule opens it on the API."""
    from fastapi.testclient import TestClient

    from pilotline.share.partners import grant_rule
    from pilotline.share.repository import onward_of
    from pilotline.share.semantics import KPI
    from pilotline.web import create_app
    from tests.conftest import WORKED_EXAMPLE_PLANT

    received = "urn:pilotline:demo-works:sm:machine:press-1:kpi"
    assert {s["id"]: onward_of(s) for s in view["submodels"]}[received] is False
    path = tmp_path / "from-demo-works.aasx"
    write_aasx(path, from_json(view["assetAdministrationShells"], view["submodels"]))
    home = tmp_path / "other"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    runner = CliRunner()
    r = runner.invoke(app, ["--home", str(home), "share", "import", str(path)])
    assert r.exit_code == 0 and "may not be passed on" in r.output and received in r.output
    key = Partners(EmbeddedStore(home), home).add("initech")
    r = runner.invoke(app, ["--home", str(home), "share", "grant", "initech", "--submodel", "kpi"])
    assert isinstance(r.exception, InputError)  # main() prints it as a plain error
    assert "does not allow onward sharing" in str(r.exception) and received in str(r.exception)
    assert not Partners(EmbeddedStore(home), home).grants("initech")
    # a rule stored past the check still opens nothing of it
    every = grant_rule(partner="initech", semantic_id=KPI, machine_prefix=None, paths=[],
                       ends=None)  # fmt: skip
    Partners(EmbeddedStore(home), home).add_rule("initech", every, by="test")
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        h = {"Authorization": f"Bearer {key}"}
        listed = [s["id"] for s in client.get("/aas/submodels", headers=h).json()["result"]]
        one = client.get(f"/aas/submodels/{_b64(received)}", headers=h)
    assert received not in listed and one.status_code == 404


def _b64(ident: str) -> str:
    import base64

    return base64.urlsafe_b64encode(ident.encode()).decode().rstrip("=")
