"""The micro-review that acts: the reduced pack for the affected cohorts is built and RevOps is
told, on the demo company's own data (with a threshold its latest quarter's fall exceeds)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from icploop.daily.micro import MICRO_SECTIONS, act_on_drop, affected_cohorts
from icploop.engine import connect
from icploop.flags.people import sync_people
from icploop.icp.micro_review import nrr_drops
from icploop.store.database import make_engine, migrate
from icploop.warehouse import Warehouse
from tests.flags.receivers import smtp_server


def test_a_drop_builds_the_reduced_pack_for_the_cohorts_that_fell_and_mails_revops(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    from icploop.flags.channels.email import EmailChannel

    shutil.copy(demo_warehouse, tmp_path / "analytics.duckdb")
    backend = connect(f"duckdb://{tmp_path / 'analytics.duckdb'}")
    warehouse = Warehouse(backend)
    as_of = warehouse.data_end.as_of
    series = nrr_drops(warehouse.tables, as_of).series
    fall = float(series["change_points"].iloc[-1])
    # the threshold just under the latest quarter's own change: that quarter is due
    drops = nrr_drops(warehouse.tables, as_of, threshold_points=max(-fall - 0.01, 0.0))
    assert drops.due, series.tail(3)
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    with Session(engine) as session, smtp_server() as (mail, port):
        sync_people(session, [
            {"person_id": "ops", "role": "revops", "email": "ops@example.org"},
            {"person_id": "ops.gone", "role": "revops", "email": None},
            {"person_id": "ae", "role": "ae", "email": "ae@example.org"},
        ])  # fmt: skip
        sender = EmailChannel("127.0.0.1", port, "icploop@example.org")
        acted = act_on_drop(backend, session, warehouse.tables, drops, tmp_path, sender,
                            "https://icp.example.com")  # fmt: skip
    quarter = str(drops.last_period)
    assert acted.quarter == quarter and acted.notified == ["ops"]
    assert [rcpt for _, rcpts, _ in mail.messages for rcpt in rcpts] == ["ops@example.org"]
    body = mail.messages[0][2].decode()
    assert f"Micro-review due: cohort NRR fell in {quarter}" in body
    assert "https://icp.example.com/review" in body

    # the cohorts listed fell by more than the threshold, largest fall first
    cohorts = affected_cohorts(warehouse.tables, as_of, quarter, drops.threshold_points)
    backend.disconnect()
    assert acted.cohorts == cohorts
    falls = [c["change_points"] for c in cohorts]
    assert falls, "no close cohort fell more than the whole base"
    assert falls == sorted(falls) and all(f < -drops.threshold_points for f in falls)
    assert all(c["nrr"] < c["nrr_before"] for c in cohorts)

    # the pack: the micro-review's sections only, opening with the fall and the cohorts
    assert {p.suffix for p in acted.paths} == {".html", ".md", ".json"}
    assert all(p.parent == tmp_path / "reviews" / f"micro-{quarter}" for p in acted.paths)
    pack = json.loads(next(p for p in acted.paths if p.suffix == ".json").read_text())
    assert [s["id"] for s in pack["sections"]] == [
        s for s in ("headline", "churn_cohort", "fit_tags", "synthesis", "proposals")
        if s in MICRO_SECTIONS
    ]  # fmt: skip
    starts = [s["start"] for s in pack["sections"]]  # the meeting's time boxes back to back
    assert starts[0] == 0 and all(
        b["start"] == a["start"] + a["minutes"]
        for a, b in zip(pack["sections"], pack["sections"][1:], strict=False)
    )
    caveats = pack["headline"]["caveats"]
    assert caveats[0].startswith("Micro-review: cohort NRR fell ") and quarter in caveats[0]
    for cohort in cohorts[:5]:
        assert any(f"Affected close cohort {cohort['cohort']}:" in c for c in caveats)
    markdown = next(p for p in acted.paths if p.suffix == ".md").read_text()
    assert "Micro-review: cohort NRR fell" in markdown and "Churn cohort" in markdown
    # its title reads for people: what it is and the day of its data, not a storage key
    assert f"Micro-review, {pack['as_of']}" in markdown.splitlines()[0]
    assert "-micro" not in markdown
    assert "Close rate and discount" not in markdown
    assert dt.date.fromisoformat(pack["as_of"]) <= as_of
