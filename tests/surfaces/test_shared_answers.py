"""Shared questions get one answer: the CLI's ``--json``, the REST API and the pack agree on the
default as-of date, the ICP rules in force, the deal check of the same open deals, the scorecard,
the thresholds, the fit tags in force and the NRR forecast; the web pages show the same version
in force."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import ibis
import pandas as pd
import pytest

from icploop.config import Settings
from icploop.generations import open_analytics
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.rules import Rule
from icploop.store.database import utcnow
from icploop.store.models import Person

from .conftest import Surfaces, _serve

pytestmark = pytest.mark.slow

FLOOR = Rule(attribute="seats_at_close", op=">=", value=50)
HOSPITALITY = Rule(attribute="industry", op="==", value="Hospitality")
#: published on the first day of the data's last quarter: in force on the default as-of date
PUBLISHED = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def published(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    """The small demo company with a trained fit model and an ICP version published mid-2026
    (a seat floor of 50, Hospitality on the do-not-close list)."""
    from tests.conftest import approve_by_every_team

    for s in _serve(demo_warehouse, tmp_path_factory.mktemp("surfaces-shared")):
        s.cli("model", "train")
        with s.store() as session, session.begin():
            session.add(Person(person_id="ops", email="ops@example.test", role="revops",
                               created_at=utcnow()))  # fmt: skip
            session.flush()
            content = IcpContent(criteria=(FLOOR,), do_not_close=(HOSPITALITY,))
            draft = versions.create_draft(session, content, "ops", PUBLISHED)
            approve_by_every_team(session, draft.number, PUBLISHED)
            versions.publish(session, draft.number, "ops", PUBLISHED)
        yield s


def default_as_of(s: Surfaces) -> dict[str, str]:
    """The default as-of date each surface used when given none, by where it was read."""
    return {
        "cli status": s.cli("status")["data_end"]["as_of"],
        "cli segments": s.cli("segments")["as_of"],
        "cli deals check": s.cli("deals", "check")["as_of"],
        "cli icp outcomes": s.cli("icp", "outcomes")["as_of"],
        "cli icp in-force": s.cli("icp", "in-force")["as_of"],
        "cli icp status": s.cli("icp", "status")["as_of"],
        "cli fit in-force": s.cli("fit", "in-force")["as_of"],
        "api data-end": s.api("data-end")["as_of"],
        "api icp/in-force": s.api("icp/in-force")["as_of"],
        "api fit/in-force": s.api("fit/in-force")["as_of"],
        "pack": s.pack()["data_end"]["as_of"],
    }


@pytest.mark.parametrize(
    ("surfaces", "end"),
    [("whole", "2026-10-31"), ("mid_month", "2026-09-30")],
    ids=["whole data", "last month partial"],
)
def test_the_default_as_of_is_one_answer(
    surfaces: str, end: str, request: pytest.FixtureRequest
) -> None:
    """The end of the last complete month of data, on every surface."""
    found = default_as_of(request.getfixturevalue(surfaces))
    assert set(found.values()) == {end}, found


def test_the_rules_in_force_are_one_answer(published: Surfaces, whole: Surfaces) -> None:
    expected = {
        "as_of": "2026-10-31",
        "version": 1,
        "source": "ICP version 1 (since 2026-07-01)",
        "criteria": ["seats_at_close >= 50"],
        "do_not_close": ["industry == Hospitality"],
    }
    assert published.cli("icp", "in-force") == expected
    assert published.api("icp/in-force") == expected
    assert published.cli("deals", "check")["criteria"] == expected["criteria"]
    # the pack of the last full quarter states the rules in force at its end
    assert published.pack()["icp_in_force"]["criteria"] == expected["criteria"]
    # before the publication (and on a workspace with none) the documented fallback applies
    before = published.api("icp/in-force?as_of=2026-06-30")
    assert before["version"] is None and before["criteria"] == []
    assert whole.cli("icp", "in-force") == {**before, "as_of": "2026-10-31"}


def test_the_cli_and_the_api_check_open_deals_against_the_same_rules(
    published: Surfaces, tmp_path: Path
) -> None:
    backend = open_analytics(Settings(workspace=published.workspace))
    try:
        deals = backend.table("deals").filter(ibis._.outcome == "open").to_pandas()
        accounts = backend.table("accounts").to_pandas()
    finally:
        backend.disconnect()
    records = deals.merge(accounts[["account_id", "industry"]], on="account_id", how="left")
    records = records.astype(str).replace({"None": "", "nan": "", "NaT": ""})
    source = tmp_path / "open.csv"
    records.to_csv(source, index=False)
    published.cli("score", str(source))
    by_cli = pd.read_csv(tmp_path / "open.scored.csv", dtype=str, keep_default_na=False)
    by_api = pd.DataFrame(published.api("score", {"records": records.to_dict("records")})["rows"])
    assert by_cli["risks"].tolist() == by_api["risks"].fillna("").tolist()
    # the published rules are what judged them: a deal under the floor misses it, one in
    # Hospitality is on the do-not-close list, in both surfaces
    small = records["seats"].astype(float) < 50
    assert (
        small.any()
        and by_api.loc[small.to_numpy(), "risks"].str.contains("seats_at_close >= 50").all()
    )
    hospitality = (records["industry"] == "Hospitality").to_numpy()
    assert by_api.loc[hospitality, "risks"].str.contains("do-not-close").all()
    # icploop deals check --json and GET /api/v1/deals judge the warehouse's open deals alike
    cli = published.cli("deals", "check")
    api = published.api("deals")
    assert api["criteria"] == cli["criteria"] and api["do_not_close"] == cli["do_not_close"]
    assert api["ae_patterns"] == cli["ae_patterns"]
    fields = ("at_risk", "risk_count", "risks")
    judged = {d["deal_id"]: tuple(d[k] for k in fields) for d in cli["deals"]}
    assert judged and judged == {d["deal_id"]: tuple(d[k] for k in fields) for d in api["deals"]}


def test_the_scorecard_reads_the_same_fit_tags_everywhere(whole: Surfaces) -> None:
    """No tag is stored yet: the CLI, the API, the web page and the pack all read the tags a
    tagging run would record (none of them shows the accounts as untagged)."""
    quarter_end = "2026-09-30"  # the pack's as-of date: the end of its quarter
    cli = whole.cli("scorecard", "--as-of", quarter_end)
    pack = whole.pack()["alignment"]["scorecard"]
    assert pack["as_of"] == cli["as_of"] == quarter_end
    assert pack["team"] == cli["team"] and pack["tag_rates"] == cli["tag_rates"]
    assert whole.api(f"scorecard?as_of={quarter_end}") == cli
    assert {r["tag"] for r in cli["tag_rates"]} >= {"strong_fit", "bad_fit"}
    tags = whole.cli("fit", "in-force", "--as-of", quarter_end)
    assert tags == whole.api(f"fit/in-force?as_of={quarter_end}")
    assert tags["source"] == "computed" and tags["accounts"] > 0
    assert sum(tags["tags"].values()) == tags["accounts"]


def test_the_thresholds_of_the_segments_and_of_the_proposals_are_one_scan(
    whole: Surfaces,
) -> None:
    """Every threshold the pack proposes from (a seat or employee floor, a discount ceiling) is
    one that ``icploop segments`` and ``GET /api/v1/segments/thresholds`` recommend on the same
    day, with the same numbers."""
    quarter_end = "2026-09-30"
    cli = whole.cli("segments", "--as-of", quarter_end)
    api = whole.api(f"segments/thresholds?as_of={quarter_end}")
    assert api["threshold_scan"] == cli["threshold_scan"] and api["thresholds"] == cli["thresholds"]
    scan = {t["attribute"]: t for t in cli["threshold_scan"]}
    items = whole.pack()["proposals"]["items"]
    proposed = [i["evidence"] for i in items if i["evidence"].get("source") == "threshold"]
    assert proposed, "the demo's planted seat floor is proposed"
    for evidence in proposed:
        found = scan[evidence["attribute"]]
        for key in ("cut", "recommended", "n_below", "n_above", "permutation_p"):
            assert evidence[key] == pytest.approx(found[key]), (evidence["attribute"], key)


def test_the_nrr_forecast_is_one_answer(whole: Surfaces) -> None:
    """``icploop forecast nrr --json`` is, field for field, the forecast ``GET /api/v1/forecast``
    gives (which adds the what-ifs): the interval as ``low``/``high``, the backtest in full."""
    cli = whole.cli("forecast", "nrr")
    api = whole.api("forecast")
    assert cli == {key: api[key] for key in cli}
    assert cli["low"] < cli["nrr"] < cli["high"]
    backtest = cli["backtest"]
    assert backtest["rows"] and backtest["sentence"].startswith(
        f"Backtest over {len(backtest['rows'])} past forecast dates"
    )
    assert set(api) - set(cli) >= {"bad_fit", "retention", "tag_nrr"}


def test_icp_outcomes_reads_the_fit_tags_in_force(published: Surfaces) -> None:
    """No tag is stored: the bad-fit rate of the ICP change counts the tags a tagging run would
    record, as the scorecard does (not an empty store)."""
    found = published.cli("icp", "outcomes")
    assert found["fit_tags"]["source"] == published.cli("fit", "in-force")["source"] == "computed"
    (bad,) = [m for m in found["measurements"] if m["metric"] == "bad_fit_rate"]
    assert bad["version"] == 1 and bad["n_before"] > 0
    assert 0 < bad["events_before"] < bad["n_before"]


def _shown_in_force(s: Surfaces) -> dict[str, list[str]]:
    """The version each web page says is in force on the data's default as-of ("none": the
    fallback)."""
    client = s.logged_in()
    return {
        page: re.findall(r'data-icp-in-force="([^"]+)"', client.get(page).text)
        for page in ("/", "/icp")
    }


def test_the_web_pages_show_the_version_in_force_on_the_default_as_of(
    published: Surfaces, whole: Surfaces
) -> None:
    assert whole.cli("icp", "in-force")["version"] is None
    assert _shown_in_force(whole) == {"/": ["none"], "/icp": ["none"]}
    assert published.cli("icp", "in-force")["version"] == 1
    assert _shown_in_force(published) == {"/": ["1"], "/icp": ["1"]}
    # a newer version published to come into force after the data's last day (2026-10-31) is
    # not the one in force on it: every surface still answers version 1
    from tests.conftest import approve_by_every_team

    later = dt.date(2026, 11, 16)
    with published.store() as session, session.begin():
        content = IcpContent(criteria=(Rule(attribute="seats_at_close", op=">=", value=75),))
        draft = versions.create_draft(session, content, "ops", utcnow())
        approve_by_every_team(session, draft.number, utcnow())
        versions.publish(session, draft.number, "ops", utcnow(), effective=later)
    assert published.cli("icp", "in-force")["version"] == 1
    assert published.api("icp/in-force")["version"] == 1
    assert _shown_in_force(published) == {"/": ["1"], "/icp": ["1"]}
    # icp status names the version in force on the same day (not today's, version 2), and
    # --as-of moves both the day it judges at and the day its deadlines are checked on
    status = published.cli("icp", "status")
    assert (status["as_of"], status["in_force"]) == ("2026-10-31", 1)
    assert status["deadlines_on"] == str(dt.date.today())
    after = published.cli("icp", "status", "--as-of", str(later))
    assert (after["as_of"], after["deadlines_on"], after["in_force"]) == (str(later), str(later), 2)
    icp_page = published.logged_in().get("/icp").text
    assert re.search(rf"Version 2 published, in force (since|from) {later}", icp_page)
    assert published.api(f"icp/in-force?as_of={later}")["version"] == 2
