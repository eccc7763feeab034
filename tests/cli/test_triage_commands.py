"""``icploop flags state`` and ``icploop watch``: triage from the command line, in one line each."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.config import Settings
from icploop.flags.records import create_flag
from icploop.store.database import open_store, utcnow
from icploop.store.models import FitTag, WatchItem


def test_flags_and_watch_entries_are_triaged_from_the_cli(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    ws = ["--workspace", str(tmp_path)]
    with open_store(settings)() as session, session.begin():
        tag = FitTag(account_id="A1", tag="near_fit", method="computed", as_of=dt.date(2026, 1, 1),
                     created_by="fit-run", created_at=utcnow())  # fmt: skip
        session.add(tag)
        session.flush()
        session.add(WatchItem(account_id="A1", fit_tag_id=tag.id, due_date=dt.date(2026, 2, 1),
                              added_at=utcnow()))  # fmt: skip
        flag = create_flag(session, account_id="A1", fit_issue="icp_mismatch", evidence="Small.",
                           fit_tag_id=None, ae=None, csm=None, links=None, actor="csm.one")  # fmt: skip
        flag.status = "recorded"
        flag_id = flag.id
    cli = CliRunner()

    moved = cli.invoke(app, ["flags", "state", str(flag_id), "acknowledged", "--as", "ae.one", *ws])
    assert moved.exit_code == 0 and f"flag {flag_id}: acknowledged (by ae.one)" in moved.output
    again = cli.invoke(app, ["flags", "state", str(flag_id), "acknowledged", "--as", "x", *ws])
    assert again.exit_code == 1 and "is already acknowledged" in again.output
    assert "Traceback" not in again.output
    listed = json.loads(
        cli.invoke(app, ["flags", "list", "--state", "acknowledged", "--json", *ws]).output
    )
    assert [(f["id"], f["state"], f["state_by"]) for f in listed] == [
        (flag_id, "acknowledged", "ae.one")
    ]
    shown = cli.invoke(app, ["flags", "show", str(flag_id), *ws]).output
    assert "ae.one: flag.state" in shown

    day = ["--as-of", "2026-03-01"]
    assert "A1" in cli.invoke(app, ["watch", "list", *day, *ws]).output
    snoozed = cli.invoke(app, ["watch", "snooze", "A1", "--until", "2099-01-01", "--reason",
                               "renewal first", "--as", "cs.lead", *ws])  # fmt: skip
    assert snoozed.exit_code == 0, snoozed.output
    assert "0 account(s)" in cli.invoke(app, ["watch", "list", *day, *ws]).output
    reviewed = cli.invoke(app, ["watch", "review", "A1", "--outcome", "stays near", "--as",
                                "cs.lead", *ws])  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.output
    history = json.loads(cli.invoke(app, ["watch", "history", "A1", "--json", *ws]).output)
    assert [(h["what"], h["by"]) for h in history] == [
        ("snoozed", "cs.lead"),
        ("reviewed", "cs.lead"),
    ]
    assert history[0]["detail"] == "until 2099-01-01: renewal first"
