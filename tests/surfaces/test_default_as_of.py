"""The default as-of date is one answer: the CLI, the API, the web pages and the pack agree,
on whole data and on data whose last month is partial (which every surface names)."""

from __future__ import annotations

import datetime as dt

import pytest

from icploop.review.quarters import latest_full_quarter

from .conftest import Surfaces

pytestmark = pytest.mark.slow


def defaults(s: Surfaces) -> dict[str, str]:
    """The default as-of date each surface used, by where it was read."""
    return {
        "cli status": s.cli("status")["data_end"]["as_of"],
        "cli segments": s.cli("segments")["as_of"],
        "cli deals check": s.cli("deals", "check")["as_of"],
        "cli icp outcomes": s.cli("icp", "outcomes")["as_of"],
        "api data-end": s.api("data-end")["as_of"],
        "pack": s.pack()["data_end"]["as_of"],
    }


def test_whole_data_runs_to_the_end_of_its_last_month(whole: Surfaces) -> None:
    found = defaults(whole)
    assert set(found.values()) == {"2026-10-31"}, found
    assert whole.api("data-end")["caveats"] == []
    assert whole.cli("metrics")["headline"]["as_of"] == "2026-10-01"
    assert whole.api("metrics/headline")["as_of"] == "2026-10-01"


def test_a_mid_month_export_leaves_its_last_month_out_everywhere(mid_month: Surfaces) -> None:
    found = defaults(mid_month)
    assert set(found.values()) == {"2026-09-30"}, found
    end = mid_month.api("data-end")
    assert end["partial_month"] == "2026-10-01" and end["last_activity"] == "2026-10-12"
    (caveat,) = end["caveats"]
    assert "October 2026 is left out as a partial month" in caveat
    # the month figures are September's, on the command line and in the API
    assert mid_month.cli("metrics")["headline"]["as_of"] == "2026-09-01"
    assert mid_month.api("metrics/headline")["as_of"] == "2026-09-01"
    # every surface names the partial month
    assert caveat in mid_month.cli_stderr("segments")
    assert mid_month.cli("status")["data_end"]["caveats"] == [caveat]
    pack = mid_month.pack()
    assert pack["quarter"] == latest_full_quarter(dt.date(2026, 9, 30)).label == "2026Q3"
    assert caveat in pack["headline"]["caveats"]


def test_the_web_pages_show_the_default_date_and_the_partial_month(mid_month: Surfaces) -> None:
    client = mid_month.logged_in()
    for page in ("/", "/segments", "/reasons", "/alignment"):
        html = client.get(page).text
        assert "2026-09-30" in html, page
        assert "October 2026 is left out as a partial month" in html, page
