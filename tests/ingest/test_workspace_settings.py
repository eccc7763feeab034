"""Workspace settings: the reporting currency is recorded in the workspace, read by every
command, named by every money figure, and overridden (with a note) by the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.config import SETTINGS_FILE, load_settings, read_workspace_settings
from icploop.errors import IcploopError

runner = CliRunner()

# a Brazilian company billing in reais only: no currency column, no fx_rates
ACCOUNTS = "account_id,name\nb1,Loja Um\nb2,Loja Dois\nb3,Loja Tres\n"
SUBSCRIPTIONS = (
    "account_id,period_start,period_end,mrr\n"
    "b1,2024-01-01,,1000\n"
    "b2,2024-01-01,2024-03-31,500\n"
    "b3,2024-02-01,,250\n"
)


@pytest.fixture(autouse=True)
def no_currency_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICPLOOP_REPORTING_CURRENCY", raising=False)


def brl_files(tmp_path: Path, currency_column: bool = False) -> Path:
    data = tmp_path / "in"
    data.mkdir(exist_ok=True)
    accounts = ACCOUNTS
    if currency_column:
        accounts = accounts.replace("account_id,name\n", "account_id,name,currency\n")
        accounts = "\n".join(
            line if i == 0 or not line else f"{line},BRL"
            for i, line in enumerate(accounts.split("\n"))
        )
    (data / "accounts.csv").write_text(accounts, encoding="utf-8")
    (data / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    return data


def test_a_brl_workspace_loads_without_an_environment_variable_and_names_brl(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    made = runner.invoke(app, ["init", "--currency", "brl", "-w", str(ws)])
    assert made.exit_code == 0, made.output
    assert read_workspace_settings(ws) == {"reporting_currency": "BRL"}
    loaded = runner.invoke(app, ["load", str(brl_files(tmp_path)), "-w", str(ws)])
    assert loaded.exit_code == 0, loaded.output
    assert load_settings(ws).reporting_currency == "BRL"

    text = runner.invoke(app, ["metrics", "--as-of", "2024-03-31", "-w", str(ws)])
    assert text.exit_code == 0, text.output
    assert "1,750 BRL" in text.stdout  # b1 + b2 + b3 in March, in reais
    assert "USD" not in text.stdout
    as_json = runner.invoke(app, ["metrics", "--as-of", "2024-03-31", "--json", "-w", str(ws)])
    payload = json.loads(as_json.stdout)
    assert payload["currency"] == "BRL"
    assert payload["headline"]["mrr"] == pytest.approx(1750)
    value = ["whatif", "retention", "--arr", "120000", "--retention", "0.9", "-w", str(ws)]
    assert runner.invoke(app, value).stdout.strip().endswith("Amounts in BRL.")
    assert json.loads(runner.invoke(app, [*value, "--json"]).stdout)["currency"] == "BRL"


def test_the_first_load_records_the_one_currency_of_its_data(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    loaded = runner.invoke(app, ["load", str(brl_files(tmp_path, True)), "-w", str(ws)])
    assert loaded.exit_code == 0, loaded.output
    assert "reporting currency BRL (the only currency in the data)" in loaded.stdout
    assert read_workspace_settings(ws)["reporting_currency"] == "BRL"


def test_a_workspace_without_a_currency_in_its_data_records_usd(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    loaded = runner.invoke(app, ["load", str(brl_files(tmp_path)), "-w", str(ws)])
    assert loaded.exit_code == 0, loaded.output
    assert read_workspace_settings(ws)["reporting_currency"] == "USD"


def test_the_environment_overrides_with_a_note_and_figures_keep_their_currency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", "--currency", "BRL", "-w", str(ws)])
    runner.invoke(app, ["load", str(brl_files(tmp_path, True)), "-w", str(ws)])
    monkeypatch.setenv("ICPLOOP_REPORTING_CURRENCY", "USD")
    shown = runner.invoke(app, ["metrics", "--as-of", "2024-03-31", "-w", str(ws)])
    assert shown.exit_code == 0, shown.output
    note = " ".join(shown.stderr.split())  # the terminal wraps long lines
    assert (
        "ICPLOOP_REPORTING_CURRENCY is USD but this workspace's reporting currency is BRL" in note
    )
    assert "1,750 BRL" in shown.stdout  # the stored figures are reais until a load converts them

    # a load under the override needs rates into USD, and says nothing was stored without them
    refused = runner.invoke(app, ["load", str(brl_files(tmp_path, True)), "-w", str(ws)])
    assert refused.exit_code == 1
    assert "fx_rates row for BRL" in " ".join(refused.stderr.split())
    assert read_workspace_settings(ws)["reporting_currency"] == "BRL"
    (tmp_path / "in" / "fx_rates.csv").write_text("currency,valid_from,rate\nBRL,2020-01-01,0.2\n")
    converted = runner.invoke(app, ["load", str(tmp_path / "in"), "-w", str(ws)])
    assert converted.exit_code == 0, converted.output
    assert "overrode the workspace's BRL" in converted.stdout
    monkeypatch.delenv("ICPLOOP_REPORTING_CURRENCY")
    assert read_workspace_settings(ws)["reporting_currency"] == "USD"
    after = runner.invoke(app, ["metrics", "--as-of", "2024-03-31", "-w", str(ws)])
    assert "350 USD" in after.stdout and not after.stderr


def test_init_converts_stored_figures_to_a_new_currency_or_leaves_them(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", "--currency", "BRL", "-w", str(ws)])
    runner.invoke(app, ["load", str(brl_files(tmp_path, True)), "-w", str(ws)])
    refused = runner.invoke(app, ["init", "--currency", "EUR", "-w", str(ws)])
    assert refused.exit_code == 1 and "fx_rates row for BRL" in " ".join(refused.stderr.split())
    assert read_workspace_settings(ws)["reporting_currency"] == "BRL"
    fx = tmp_path / "fx" / "fx_rates.csv"
    fx.parent.mkdir()
    fx.write_text("currency,valid_from,rate\nBRL,2020-01-01,0.5\n")
    runner.invoke(app, ["load", str(fx), "-w", str(ws)])
    done = runner.invoke(app, ["init", "--currency", "EUR", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert "converted the stored figures from BRL to EUR" in done.stdout
    shown = runner.invoke(app, ["metrics", "--as-of", "2024-03-31", "-w", str(ws)])
    assert "875 EUR" in shown.stdout


def test_a_broken_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text('reporting_currency = "reais"\n')
    with pytest.raises(IcploopError, match="reporting_currency = 'reais' is not valid"):
        load_settings(tmp_path)
    (tmp_path / SETTINGS_FILE).write_text("colour = 'blue'\n")
    with pytest.raises(IcploopError, match="unknown setting"):
        load_settings(tmp_path)
