"""The default as-of date on whole data and on data whose last month is partial, which every
surface names (that the CLI, the API and the pack give the same date: test_shared_answers)."""

from __future__ import annotations

import datetime as dt

import pytest

from icploop.review.quarters import latest_full_quarter

from .conftest import Surfaces

pytestmark = pytest.mark.slow


def test_whole_data_has_no_caveat_and_its_month_figures_are_its_last_months(
    whole: Surfaces,
) -> None:
    assert whole.api("data-end")["caveats"] == []
    assert whole.cli("metrics")["headline"]["as_of"] == "2026-10-01"
    assert whole.api("metrics/headline")["as_of"] == "2026-10-01"


def test_a_mid_month_export_leaves_its_last_month_out_everywhere(mid_month: Surfaces) -> None:
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
