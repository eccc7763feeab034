"""A workspace's own fit configuration (``fit.yaml`` in the workspace) holds on every surface:
the fit tags in force, the ICP criteria in force before any version is published, the scorecard
and a signal's override get its thresholds and rule, not the defaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app as cli_app

from .conftest import Surfaces, _serve

pytestmark = pytest.mark.slow

QUARTER_END = "2026-09-30"  # the pack's as-of date: the end of its quarter
#: a tag day of 60 days, any bad signal a bad fit, and a seat floor
#: for the ICP match until a version is published
FIT_YAML = """\
thresholds:
  tag_after_days: 60
combination:
  bad_if_bad_signals_at_least: 1
icp_criteria:
  - {attribute: seats_at_close, op: ">=", value: 40}
"""


@pytest.fixture(scope="module")
def custom(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    """The small demo company with a fit configuration of its own."""
    workspace = tmp_path_factory.mktemp("surfaces-fit-config")
    (workspace / "fit.yaml").write_text(FIT_YAML, encoding="utf-8")
    yield from _serve(demo_warehouse, workspace)


def test_the_icp_criteria_in_force_are_the_workspaces_own(custom: Surfaces) -> None:
    expected = ["seats_at_close >= 40"]
    assert custom.cli("icp", "in-force")["criteria"] == expected
    assert custom.api("icp/in-force")["criteria"] == expected
    assert custom.cli("deals", "check")["criteria"] == expected
    assert custom.pack()["icp_in_force"]["criteria"] == expected


def test_the_fit_tags_and_the_scorecard_follow_the_workspaces_rule(
    custom: Surfaces, whole: Surfaces
) -> None:
    tags = custom.cli("fit", "in-force", "--as-of", QUARTER_END)
    assert tags == custom.api(f"fit/in-force?as_of={QUARTER_END}")
    default = whole.cli("fit", "in-force", "--as-of", QUARTER_END)
    assert tags["source"] == default["source"] == "computed"
    # any bad signal makes a bad fit: more bad fits than under the default rule
    assert tags["tags"].get("bad_fit", 0) > default["tags"].get("bad_fit", 0)
    # a tag day of 60: accounts closed 60 to 90 days before the day are tagged too
    assert tags["accounts"] > default["accounts"]
    cli = custom.cli("scorecard", "--as-of", QUARTER_END)
    pack = custom.pack()["alignment"]["scorecard"]
    assert pack["team"] == cli["team"] and pack["tag_rates"] == cli["tag_rates"]
    assert custom.api(f"scorecard?as_of={QUARTER_END}") == cli
    assert cli["tag_rates"] != whole.cli("scorecard", "--as-of", QUARTER_END)["tag_rates"]


def test_an_override_is_recombined_with_the_workspaces_rule(custom: Surfaces) -> None:
    ws = ["--workspace", str(custom.workspace)]
    ran = CliRunner().invoke(cli_app, ["fit", "run", *ws, "--as-of", QUARTER_END, "--no-send"])
    assert ran.exit_code == 0, ran.output
    listed = custom.cli("fit", "list")
    strong = next(r["account_id"] for r in listed if r["tag"] == "strong_fit")
    said = CliRunner().invoke(
        cli_app,
        ["fit", "override", strong, "adoption_trajectory", "bad", "--reason", "usage fell",
         "--as", "csm@example.test", *ws],
    )  # fmt: skip
    assert said.exit_code == 0, said.output
    # one bad signal beside strong ones: near fit by the default rule, bad fit by this one
    assert f"{strong}: adoption_trajectory = bad; tag now bad_fit" in " ".join(said.output.split())
