"""``icploop forecast`` and ``icploop whatif``: the NRR forecast from the fit-tag mix with its
backtest, and what a change in the fit mix or in retention is worth. Analytics live in
``icploop.scoring.forecast`` and ``icploop.scoring.economics``; the fit tags are those in force.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    currency_of,
    fit_tags_of,
    print_json,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.formatting import pct, unknown
from icploop.ingest.paying import index_of, paying_months
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.economics import (
    acquisition_vs_retention,
    bad_fit_whatif,
    ltv_cac,
    retention_value,
    tag_mix_and_nrr,
)
from icploop.scoring.features import (
    customer_history,
)
from icploop.scoring.forecast import backtest, forecast_answer, forecast_nrr_at

forecast_app = typer.Typer(help="Forecasts from the fit mix.")
whatif_app = typer.Typer(help="What a change in the fit mix or in retention is worth.")


def _paying(tables: CanonicalTables, day: dt.date) -> pd.DataFrame:
    return paying_months(tables.mrr_monthly, day).select("account_id", "m", "cents").to_pandas()


@forecast_app.command("nrr")
def forecast_nrr(
    as_of: AsOfOption = None,
    run_backtest: Annotated[bool, typer.Option("--backtest/--no-backtest")] = True,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """NRR 12 months ahead from the fit-tag mix, with an interval and a backtest."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        backend, tables = warehouse.backend, warehouse.tables
        history = fit_tags_of(workspace, backend, day)
        tags = history.known_months()
        paying = _paying(tables, day)
        forecast = forecast_nrr_at(paying, tags, day)
        bt = backtest(paying, tags) if run_backtest else None
        if json:
            print_json({"tags_source": history.reason, **forecast_answer(forecast, bt)})
            return
        console.print(forecast.sentence)
        table = Table("group", "accounts", "MRR share", "historical 12-month NRR")
        for g in forecast.groups.to_dict("records"):
            table.add_row(
                g["group"],
                f"{g['accounts']:,}",
                f"{g['mrr_share']:.0%}",
                pct(g["historical_nrr"], 1),
            )
        console.print(table)
        for caveat in forecast.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")
        if bt is not None:
            console.print(bt.sentence)


@whatif_app.command("bad-fit")
def whatif_bad_fit(
    share: Annotated[
        float, typer.Option(help="Share of new MRR closed with bad fits (0-1).")
    ] = 0.06,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Cohort NRR if the bad-fit share of new deals were SHARE (tags' NRR from history)."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        backend, tables = warehouse.backend, warehouse.tables
        tags = fit_tags_of(workspace, backend, day).on(day)
        mix, nrr = tag_mix_and_nrr(tags, customer_history(tables, day), day)
        result = bad_fit_whatif(mix, nrr, share)
        if json:
            print_json(
                {
                    "tag_nrr": nrr,
                    "current_bad_fit_share": result.current_share,
                    "bad_fit_share": share,
                    "current_nrr": result.current_nrr,
                    "nrr": result.new_nrr,
                    "unknown_reason": result.unknown_reason,
                    "table": result.table.to_dict("records"),
                }
            )
            return
        by_tag = (f"{k} {unknown('no starting MRR') if v is None else pct(v, 1)}"
                  for k, v in sorted(nrr.items()))  # fmt: skip
        console.print("12-month NRR by fit tag: " + ", ".join(by_tag))
        console.print(result.sentence)


@whatif_app.command("retention")
def whatif_retention(
    points: Annotated[float, typer.Option(help="Points of annual retention gained.")] = 5.0,
    years: Annotated[int, typer.Option(min=1, max=10)] = 3,
    margin: Annotated[float, typer.Option(help="Gross margin (0-1).")] = 0.8,
    arr: Annotated[float | None, typer.Option(help="Default: current MRR x 12.")] = None,
    retention: Annotated[
        float | None,
        typer.Option(help="Annual net retention (default: the trailing 12-month NRR)."),
    ] = None,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Revenue and margin from POINTS more retention over YEARS."""
    with user_errors():
        if arr is None or retention is None:
            warehouse, day = warehouse_on(workspace, as_of)
            tables = warehouse.tables
            paying = _paying(tables, day)
            t = index_of(day)
            now = paying[paying["m"] == t].groupby("account_id")["cents"].sum()
            then = paying[paying["m"] == t - 12].groupby("account_id")["cents"].sum()
            arr = arr if arr is not None else float(now.sum()) / 100 * 12
            if retention is None:
                retention = (
                    float(now.reindex(then.index).fillna(0).sum() / then.sum())
                    if then.sum()
                    else 0.9
                )
        result = retention_value(arr, retention, points, years, margin)
        currency = currency_of(workspace)
        if json:
            print_json(
                {
                    "currency": currency,
                    "arr": arr,
                    "retention": retention,
                    "improved": result.improved,
                    "revenue": result.revenue,
                    "revenue_improved": result.revenue_improved,
                    "margin_gain": result.margin_gain,
                    "table": result.table.to_dict("records"),
                }
            )
            return
        console.print(f"{result.sentence} Amounts in {currency}.")


def _cac_pairs(values: list[str]) -> dict[str, float]:
    out = {}
    for item in values:
        key, sep, amount = item.partition("=")
        if not sep:
            raise IcploopError(f"--cac {item!r} is not VALUE=AMOUNT", "e.g. --cac inbound=12000")
        out[key] = float(amount)
    return out


@whatif_app.command("ltv-cac")
def whatif_ltv_cac(
    by: Annotated[str, typer.Option(help="segment, lead_source, industry, ...")] = "lead_source",
    cac: Annotated[list[str] | None, typer.Option(help="VALUE=AMOUNT, repeatable.")] = None,
    margin: Annotated[float, typer.Option(help="Gross margin (0-1).")] = 0.8,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """LTV (and LTV:CAC and payback where a CAC is given) by segment or lead source."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        tables = warehouse.tables
        history = customer_history(tables, day)
        if by not in history.columns:
            raise IcploopError(
                f"unknown attribute {by!r}", "use segment, lead_source, industry, use_case, region"
            )
        frame = ltv_cac(history, by, _cac_pairs(cac or []), margin)
        rows = frame.to_dict("records")
        currency = currency_of(workspace)
        if json:
            print_json([{**r, "currency": currency} for r in rows])
            return
        table = Table(
            by,
            "accounts",
            f"ARPA/yr ({currency})",
            "churn y1",
            f"LTV ({currency})",
            f"CAC ({currency})",
            "LTV:CAC",
            "payback mo",
        )

        def blank(v: object) -> bool:
            return v is None or bool(pd.isna(v))

        for r in rows:
            table.add_row(
                str(r[by]),
                f"{r['accounts']:,}",
                f"{r['arpa_annual']:,.0f}",
                f"{r['first_year_churn']:.1%}",
                "-" if blank(r["ltv"]) else f"{r['ltv']:,.0f}",
                "-" if blank(r["cac"]) else f"{r['cac']:,.0f}",
                "-" if blank(r["ltv_to_cac"]) else f"{r['ltv_to_cac']:.1f}",
                "-" if blank(r["payback_months"]) else f"{r['payback_months']:.0f}",
            )
        console.print(table)


@whatif_app.command("spend")
def whatif_spend(
    acquisition: Annotated[float, typer.Option(help="Acquisition spend.")],
    cac: Annotated[float, typer.Option(help="Cost to acquire one account.")],
    retention_spend: Annotated[float, typer.Option(help="Retention spend.")],
    points: Annotated[float, typer.Option(help="Retention points that spend buys.")],
    arpa: Annotated[float, typer.Option(help="Annual revenue of a new account.")],
    book_arr: Annotated[float, typer.Option(help="ARR of the current book.")],
    json: JsonOption = False,
) -> None:
    """ARR bought by acquisition spend against ARR kept by retention spend."""
    with user_errors():
        result = acquisition_vs_retention(acquisition, cac, arpa, retention_spend, book_arr, points)
        if json:
            print_json(result.__dict__)
            return
        console.print(result.sentence)


def register(app: typer.Typer) -> None:
    """Add the forecast and what-if commands to the root app."""
    app.add_typer(forecast_app, name="forecast")
    app.add_typer(whatif_app, name="whatif")
