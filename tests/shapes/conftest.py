"""Workspaces of data shapes a new user's exports may have, built once per test session.

Each shape is the small demo company changed the way a real export differs from it (a table
missing, a short history, a partial last month, revenue one row per month, blank attributes,
numbers as text, only won deals, one non-USD currency), or a public export in
``../shared/data`` loaded through its example mapping. Every workspace is loaded through the
command line, as a user would, and the load's own output is kept for the checks.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.main import app as cli_app
from tests.surfaces.conftest import export_cut

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
MAPPINGS = REPO / "examples" / "mappings"
#: customers of the demo company every demo shape starts from (prospects come on top)
ACCOUNTS = 300
#: the first day of the demo company's data
DEMO_START = dt.date(2021, 10, 1)


@dataclass
class Shape:
    """A loaded workspace and what its load printed."""

    name: str
    workspace: Path
    load_output: str
    load_exit: int
    #: canonical tables this shape has no rows for (what a command must not report numbers from)
    absent: frozenset[str]


def _months_later(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def _frame(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def _without(table: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / f"{table}.csv").unlink()

    return change


def _history(months: int) -> Callable[[Path], None]:
    """A company that started ``months`` months before its export (data through that month)."""

    def change(folder: Path) -> None:
        cut = _months_later(DEMO_START, months) - dt.timedelta(days=1)
        staged = folder.parent / f"{folder.name}-full"
        folder.rename(staged)
        export_cut(staged, folder, cut.isoformat())
        shutil.rmtree(staged)

    return change


def _partial_last_month(folder: Path) -> None:
    staged = folder.parent / f"{folder.name}-full"
    folder.rename(staged)
    export_cut(staged, folder, "2026-10-12")
    shutil.rmtree(staged)


def _monthly_rows(folder: Path) -> None:
    """Revenue as most billing exports hold it: one row per account and month, no end date."""
    subs = pd.read_csv(folder / "subscriptions.csv", parse_dates=["period_start", "period_end"])
    end = pd.Timestamp("2026-10-31")
    rows = []
    for sub in subs.itertuples():
        stop = end if pd.isna(sub.period_end) else min(sub.period_end, end)
        for month in pd.date_range(sub.period_start.replace(day=1), stop, freq="MS"):
            rows.append(
                {
                    "subscription_id": f"{sub.subscription_id}-{month:%Y%m}",
                    "account_id": sub.account_id,
                    "period_start": month.date().isoformat(),
                    "mrr": sub.mrr,
                    "currency": sub.currency,
                }
            )
    # a renewal within a month leaves two periods in it: one row per month, as a billing export
    monthly = pd.DataFrame(rows).groupby(["subscription_id", "account_id", "period_start"])
    monthly.agg(mrr=("mrr", "max"), currency=("currency", "first")).reset_index().to_csv(
        folder / "subscriptions.csv", index=False
    )


def _blank_attributes(folder: Path) -> None:
    """Nine in ten values of every optional account column blank."""
    accounts = _frame(folder, "accounts.csv")
    keep = {"account_id", "name", "currency", "created_date"}
    blank = pd.Series(range(len(accounts))) % 10 != 0
    for column in accounts.columns.difference(list(keep)):
        accounts.loc[blank.to_numpy(), column] = ""
    accounts.to_csv(folder / "accounts.csv", index=False)


def _numbers_as_text(folder: Path) -> None:
    """Numeric extras the way spreadsheets export them: thousands separators, units, n/a."""
    accounts = _frame(folder, "accounts.csv")
    employees = pd.to_numeric(accounts["employees"], errors="coerce").fillna(0)
    accounts["annual_revenue"] = [
        "n/a" if i % 17 == 0 else f"${e * 91_000:,.0f}" for i, e in enumerate(employees)
    ]
    accounts["employees"] = [f"{e:,.0f}" for e in employees]
    accounts.to_csv(folder / "accounts.csv", index=False)


def _only_won(folder: Path) -> None:
    deals = _frame(folder, "deals.csv")
    deals[deals["outcome"] == "won"].to_csv(folder / "deals.csv", index=False)


def _one_currency(folder: Path) -> None:
    """Everything in EUR, no exchange rates."""
    for path in folder.glob("*.csv"):
        frame = _frame(folder, path.name)
        if "currency" in frame.columns:
            frame.loc[frame["currency"] != "", "currency"] = "EUR"
            frame.to_csv(path, index=False)
    (folder / "fx_rates.csv").unlink()


#: demo shapes: name -> (change to the company's files, tables left without rows)
DEMO_SHAPES: dict[str, tuple[Callable[[Path], None] | None, frozenset[str]]] = {
    "demo": (None, frozenset()),
    **{
        f"no-{table}": (_without(table), frozenset({table}))
        for table in ("usage", "contacts", "tickets", "notes", "costs", "deals", "org", "fx_rates")
    },
    "history-3": (_history(3), frozenset()),
    "history-9": (_history(9), frozenset()),
    "history-13": (_history(13), frozenset()),
    "partial-month": (_partial_last_month, frozenset()),
    "monthly-rows": (_monthly_rows, frozenset()),
    "blank-attributes": (_blank_attributes, frozenset()),
    "numbers-as-text": (_numbers_as_text, frozenset()),
    "only-won": (_only_won, frozenset()),
    "one-currency": (_one_currency, frozenset({"fx_rates"})),
}

#: public exports: name -> (folder or file under ../shared/data, mapping, tables absent)
EXPORT_SHAPES: dict[str, tuple[str, str, frozenset[str]]] = {
    "telco": (
        "ibm_telco_churn/Telco-Customer-Churn.csv",
        "ibm_telco.yaml",
        frozenset({"deals", "usage", "contacts", "tickets", "notes", "costs", "org", "fx_rates"}),
    ),
    "ravenstack": (
        "ravenstack_saas",
        "ravenstack.yaml",
        frozenset({"deals", "usage", "contacts", "costs", "org", "fx_rates"}),
    ),
    "maven": (
        "maven_crm_sales_opportunities",
        "maven_crm.yaml",
        frozenset({"subscriptions", "usage", "contacts", "tickets", "notes", "costs", "fx_rates"}),
    ),
}

SHAPES = [*DEMO_SHAPES, *EXPORT_SHAPES]


def invoke(*args: str) -> tuple[int, str, str, BaseException | None]:
    """``icploop ARGS`` in this process: exit code, stdout, stderr and any escaped exception."""
    result = CliRunner().invoke(cli_app, list(args))
    exception = result.exception
    if isinstance(exception, SystemExit):
        exception = None
    return result.exit_code, result.stdout, result.stderr, exception


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from icploop.demo.generator import generate_company

    folder = tmp_path_factory.mktemp("shapes-demo") / "data"
    generate_company(folder, accounts=ACCOUNTS, seed=11)
    (folder / "truth.json").unlink()
    return folder


_built: dict[str, Shape] = {}


@pytest.fixture(scope="session")
def shapes(demo_files: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Shape]:
    """Build (once) and return the workspace of a shape by name."""

    def build(name: str) -> Shape:
        if name in _built:
            return _built[name]
        root = tmp_path_factory.mktemp(f"shape-{name}")
        workspace = root / "workspace"
        if name in EXPORT_SHAPES:
            source, mapping, absent = EXPORT_SHAPES[name]
            path = DATA / source
            if not path.exists():
                pytest.skip(f"public export {source} not found next to the repository")
            args = ["load", str(path), "--mapping", str(MAPPINGS / mapping)]
        else:
            change, absent = DEMO_SHAPES[name]
            folder = root / "data"
            shutil.copytree(demo_files, folder)
            if change is not None:
                change(folder)
            args = ["load", str(folder)]
        code, out, err, exception = invoke(*args, "--workspace", str(workspace))
        if exception is not None:
            raise exception
        _built[name] = Shape(name, workspace, out + err, code, absent)
        return _built[name]

    return build
