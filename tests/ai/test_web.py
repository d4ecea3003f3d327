"""The model-card page: a manager sees the card, the back-test beside the baselines and the
verdict, the shadow period on one time axis, and makes it a pilot; an operator may not."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from fastapi.testclient import TestClient

from pilotline.ai import records, shadow
from pilotline.ai.backtest import backtest
from pilotline.ai.data import read_recordings
from pilotline.ai.detectors import build
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.ai.test_shadow import T0, TAGS, fill
from tests.web.conftest import PASSWORD, PLANT, api_login


def test_model_card_page_and_make_it_a_pilot(tmp_path: Path, skab_slice: Path) -> None:
    (tmp_path / "plant.toml").write_text(PLANT)
    store = EmbeddedStore(tmp_path)
    users = Users(store)
    users.add("olga", PASSWORD, role="operator", lines=["Line A"])
    users.add("mia", PASSWORD, role="manager")
    # a second model in shadow mode on stored pump values, for the time-axis chart
    fill(store, skab_slice)
    utc = T0.replace(tzinfo=dt.UTC)
    shadow.train_on_store(store, name="pump-2", machine="pump-1", tags=TAGS, start=utc,
                          end=utc + dt.timedelta(seconds=400), trained_by="test")  # fmt: skip
    shadow.run(store, "pump-2", until=utc + dt.timedelta(hours=1))
    t = shadow.timeline(store, "pump-2")
    assert t is not None and set(t["signals"]) == set(TAGS) and t["alarms"] and t["stops"]
    assert len(t["times"]) == len(t["score"]) > 100
    data = read_recordings(skab_slice / "valve1-0.csv")
    rec = data.recordings[0]
    b = backtest(data)
    records.save(
        store,
        records.Model(
            name="pump-1",
            machine="m1",
            detector=build("forecast_watch").fit(rec.values[:400]),
            signals=data.signals,
            train_start=rec.start(0),
            train_end=rec.start(400),
            train_rows=400,
            fingerprint=records.fingerprint(rec.seconds[:400], rec.values[:400], data.signals),
            backtest=b.to_json(),
            trained_by="test",
        ),
    )
    app = create_app(tmp_path)
    with TestClient(app) as client:
        api_login(client, "olga")
        assert client.get("/ai/pump-1").status_code == 403
    with TestClient(app) as client:
        api_login(client, "mia")
        listing = client.get("/ai")
        assert listing.status_code == 200 and 'href="/ai/pump-1"' in listing.text
        page = client.get("/ai/pump-1")
        assert page.status_code == 200
        for text in ("hotelling_t2", "null", "forecast_watch", b.verdict.split(":")[0]):
            assert text in page.text
        assert client.get("/ai/nothing").status_code == 404
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        made = client.post("/ai/pump-1/pilot", data={"csrf": csrf.group(1)}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"] == "/pilots/ai-pump-1"
        assert (tmp_path / "pilots" / "ai-pump-1.toml").exists()
        forged = client.post("/ai/pump-1/pilot", data={"csrf": "x"}, follow_redirects=False)
        assert forged.status_code == 403
        charted = client.get("/ai/pump-2").text
        assert 'id="timeline"' in charted and "Plotly.newPlot" in charted
        assert "/assets/plotly.min.js" in charted
        assert 'id="timeline"' not in page.text  # no shadow run, no chart
