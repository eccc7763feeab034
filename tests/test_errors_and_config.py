"""The error family and the settings every command relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from icploop.config import Settings, load_settings
from icploop.errors import IcploopError, Problem, ValidationError


def test_a_problem_names_file_row_column_value_and_expectation() -> None:
    problem = Problem("deals.csv", 7, "close_date", "2024-13-01", "a date YYYY-MM-DD")
    assert str(problem) == (
        "deals.csv, row 7, column 'close_date': got '2024-13-01'; expected a date YYYY-MM-DD"
    )


def test_a_validation_error_lists_every_problem_and_says_nothing_was_loaded() -> None:
    problems = [
        Problem("a.csv", 2, "mrr", "-5", "a number >= 0"),
        Problem("b.csv", None, "account_id", None, "a required column"),
    ]
    error = ValidationError(problems, truncated=3)
    text = str(error)
    assert "5 problem(s) in a.csv, b.csv; nothing was loaded" in text
    assert "a.csv, row 2, column 'mrr': got '-5'; expected a number >= 0" in text
    assert "b.csv, column 'account_id'; expected a required column" in text
    assert "... and 3 more" in text
    assert isinstance(error, IcploopError)
    assert error.hint


def test_the_workspace_comes_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ICPLOOP_WORKSPACE", str(tmp_path / "from-env"))
    assert load_settings().workspace == tmp_path / "from-env"
    assert load_settings(tmp_path / "explicit").workspace == tmp_path / "explicit"


def test_default_stores_are_files_inside_the_workspace(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    assert settings.resolved_analytics_url() == f"duckdb://{tmp_path.resolve()}/analytics.duckdb"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/app.db"


def test_configured_urls_win_over_the_workspace_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICPLOOP_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("ICPLOOP_ANALYTICS_URL", "duckdb://:memory:")
    settings = load_settings()
    assert settings.resolved_database_url().startswith("postgresql://")
    assert settings.resolved_analytics_url() == "duckdb://:memory:"


def test_problems_are_grouped_by_cause_with_counts_spans_and_examples() -> None:
    fx = "an fx_rates row for BRL (rates into USD)"
    problems = [Problem("subs.csv", r, "currency", "BRL", fx) for r in range(2, 52)]
    problems.append(Problem("subs.csv", 7, "mrr", "-5", "at least 0"))
    error = ValidationError(
        problems, truncated=953, extents={("subs.csv", "currency", fx): (1003, 2, 1004)}
    )
    lines = str(error).splitlines()
    assert lines[0] == "1,004 problem(s) in subs.csv; nothing was loaded"
    assert lines[1] == (
        "  - 1,003 rows in subs.csv, column 'currency': expected an fx_rates row for BRL (rates "
        "into USD) (rows 2-1004); e.g. row 2: got 'BRL', row 3: got 'BRL', row 4: got 'BRL'"
    )
    # a cause with one row reads as the problem itself
    assert lines[2] == "  - subs.csv, row 7, column 'mrr': got '-5'; expected at least 0"
    assert "more" not in str(error)
    # without extents a group counts what is listed, and the rest are said to be more
    unknown = ValidationError(problems[:3], truncated=10)
    assert "3 rows in subs.csv, column 'currency'" in str(unknown)
    assert "(rows 2-4)" in str(unknown) and "... and 10 more" in str(unknown)


def test_the_base_url_comes_from_the_workspace_file_unless_the_environment_sets_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ICPLOOP_BASE_URL", raising=False)
    (tmp_path / "icploop.toml").write_text('base_url = "https://icp.example.com"\n')
    assert load_settings(tmp_path).base_url == "https://icp.example.com"
    monkeypatch.setenv("ICPLOOP_BASE_URL", "https://other.example.com/icp")
    assert load_settings(tmp_path).base_url == "https://other.example.com/icp"
    (tmp_path / "icploop.toml").write_text('base_url = "icp.example.com/flags?x"\n')
    with pytest.raises(IcploopError, match=r"base_url = 'icp.example.com/flags\?x' is not valid"):
        load_settings(tmp_path)
