"""Quarantine: --max-rejects N loads the rows that pass and writes every refused row with its
problems to a CSV; more than N refused rows refuse the whole load, as without the option."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.errors import IcploopError, ValidationError
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import parse_mapping

from .conftest import snapshot

runner = CliRunner()

ACCOUNTS = "account_id,name,employees\n" + "".join(f"a{i},Acme {i},{10 * i}\n" for i in range(1, 9))
# a deal won two days before its first contact, an unknown stage, an account nobody loaded
DEALS = (
    "deal_id,account_id,created_date,close_date,outcome,amount\n"
    "d1,a1,2024-01-05,2024-02-01,won,1200\n"
    "d2,a2,2024-01-10,2024-01-08,won,900\n"
    "d3,a3,2024-01-12,2024-03-01,maybe,500\n"
    "d4,a4,2024-02-01,2024-03-15,lost,0\n"
    "d5,zz,2024-02-03,2024-03-20,won,700\n"
    "d6,a6,2024-02-05,2024-04-01,open,300\n"
)


def rows(backend: BaseBackend, sql: str) -> list[tuple[object, ...]]:
    return backend.con.execute(sql).fetchall()  # type: ignore[attr-defined]


def files(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "deals.csv").write_text(DEALS)
    return folder


def test_n_bad_rows_among_good_ones_load_and_go_to_the_rejects_file(
    backend: BaseBackend, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    result = load_paths(backend, [files(tmp_path)], max_rejects=3, rejects=rejects)
    assert result.rejected == 3
    assert result.tables["accounts"].inserted == 8
    assert result.tables["deals"].inserted == 3
    assert rows(backend, "SELECT deal_id FROM deals ORDER BY 1") == [("d1",), ("d4",), ("d6",)]
    with rejects.open(newline="", encoding="utf-8") as fh:
        refused = list(csv.DictReader(fh))
    assert [(r["file"], r["row"]) for r in refused] == [
        ("deals.csv", "3"),
        ("deals.csv", "4"),
        ("deals.csv", "6"),
    ]
    assert "expected a date on or after created_date" in refused[0]["problems"]
    assert "expected one of won, lost, open" in refused[1]["problems"]
    assert "expected a value present in accounts.account_id" in refused[2]["problems"]
    assert json.loads(refused[2]["values"])["account_id"] == "zz"
    # the load record keeps the count
    [(listed,)] = rows(backend, "SELECT files FROM _icploop_loads WHERE table_name = 'deals'")
    assert json.loads(str(listed))[0]["rejected"] == 3


def test_one_more_bad_row_than_allowed_refuses_everything(
    backend: BaseBackend, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    before = snapshot(backend)
    with pytest.raises(ValidationError) as caught:
        load_paths(backend, [files(tmp_path)], max_rejects=2, rejects=rejects)
    assert "3 rows refused, more than --max-rejects 2" in str(caught.value)
    assert snapshot(backend) == before
    assert not rejects.exists()


def test_a_refused_account_takes_its_deals_with_it(backend: BaseBackend, tmp_path: Path) -> None:
    folder = files(tmp_path)
    (folder / "accounts.csv").write_text(ACCOUNTS.replace("a1,Acme 1,10", "a1,Acme 1,ten"))
    (folder / "deals.csv").write_text(DEALS.splitlines()[0] + "\n" + DEALS.splitlines()[1] + "\n")
    rejects = tmp_path / "rejects.csv"
    result = load_paths(backend, [folder], max_rejects=2, rejects=rejects)
    assert result.rejected == 2  # the account with a bad count, then its deal
    assert rows(backend, "SELECT count(*) FROM deals") == [(0,)]
    assert rows(backend, "SELECT count(*) FROM accounts") == [(7,)]


def test_without_the_option_a_load_stays_all_or_nothing(
    backend: BaseBackend, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError):
        load_paths(backend, [files(tmp_path)])
    assert rows(backend, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'deals'") in (
        [(0,)],
        [(1,)],
    )
    assert snapshot(backend).get("deals", []) == []


def test_the_command_reports_quarantined_rows_and_needs_both_options(tmp_path: Path) -> None:
    ws, rejects = tmp_path / "ws", tmp_path / "rejects.csv"
    args = ["load", str(files(tmp_path)), "-w", str(ws)]
    half = runner.invoke(app, [*args, "--max-rejects", "3"])
    assert half.exit_code == 1 and "--rejects" in half.stderr
    done = runner.invoke(app, [*args, "--max-rejects", "3", "--rejects", str(rejects)])
    assert done.exit_code == 0, done.output
    assert f"3 row(s) refused and written to {rejects}" in " ".join(done.stdout.split())
    status = runner.invoke(app, ["status", "--json", "-w", str(ws)])
    loads = json.loads(status.stdout)["loads"]
    assert [f["rejected"] for ld in loads if ld["table"] == "deals" for f in ld["files"]] == [3]
    with pytest.raises(IcploopError, match="--max-rejects"):
        load_paths_negative(tmp_path)


def load_paths_negative(tmp_path: Path) -> None:
    import ibis

    load_paths(ibis.duckdb.connect(), [tmp_path / "in"], max_rejects=-1, rejects=tmp_path / "r")


def test_a_thousand_rows_with_one_cause_read_as_one_line(
    backend: BaseBackend, tmp_path: Path
) -> None:
    folder = tmp_path / "brl"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "account_id,currency\n" + "".join(f"b{i},BRL\n" for i in range(1003))
    )
    (folder / "subscriptions.csv").write_text(
        "account_id,period_start,mrr\n" + "".join(f"b{i},2024-01-01,100\n" for i in range(1003))
    )
    with pytest.raises(ValidationError) as caught:
        load_paths(backend, [folder])
    lines = str(caught.value).splitlines()
    assert lines[0] == "1,003 problem(s) in subscriptions.csv; nothing was loaded"
    assert lines[1].startswith(
        "  - 1,003 rows in subscriptions.csv, column 'currency': expected an fx_rates row for "
        "BRL (rates into USD) valid on or before the period's start (rows 2-1004); "
        "e.g. row 2: got 'BRL'"
    )
    assert len(lines) == 3  # the two lines and the hint


def test_the_rejects_file_never_holds_a_formula(backend: BaseBackend, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "=deals.csv").write_text(DEALS)  # a file name a spreadsheet would run
    deal_columns = ", ".join(f"{c}: {c}" for c in DEALS.splitlines()[0].split(","))
    mapping = parse_mapping(
        "tables:\n  - table: accounts\n    files: accounts.csv\n"
        "    columns: {account_id: account_id, name: name, employees: employees}\n"
        f"  - table: deals\n    files: '=deals.csv'\n    columns: {{{deal_columns}}}\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = load_paths(backend, [folder], mapping, max_rejects=3, rejects=rejects)
    assert result.rejected == 3
    with rejects.open(newline="", encoding="utf-8") as fh:
        refused = list(csv.reader(fh))[1:]
    assert [r[0] for r in refused] == ["'=deals.csv"] * 3
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in refused for cell in r)
