"""``icploop survival``, ``icploop ltv`` and ``icploop champions``: how long each segment stays,
what it is worth, and whether churn follows a champion's departure. The analyses are
``icploop.segments.lifetimes`` and ``icploop.fit.champions``; this module parses and prints."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    command,
    console,
    currency_of,
    print_json,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.fit.champions import champion_departures
from icploop.formatting import money, pct, q
from icploop.segments.lifetimes import ltv_by, ltv_dict, survival_by

ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="A dimension of the accounts (icploop status lists them), close_cohort or "
        "seats_band. Default: all accounts together.",
    ),
]


def _months(value: Any) -> str:
    if value is None or value != value:
        return "-"
    return "not reached" if value == float("inf") else f"{value:.0f}"


@command
def survival_command(
    by: ByOption = None,
    cox: Annotated[
        bool, typer.Option("--cox", help="Also fit a Cox model: hazard ratios with intervals.")
    ] = False,
    at: Annotated[int, typer.Option("--at", min=1, help="Months for S(t) in the table.")] = 12,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Kaplan-Meier survival by segment with the median and a log-rank test (and Cox hazard
    ratios with --cox)."""
    warehouse, day = warehouse_on(workspace, as_of)
    report = survival_by(warehouse.tables, day, by, cox=cox, at_months=at)
    data = report.to_dict()
    if json:
        print_json({"as_of": day, **data})
        return
    table = Table(title=f"Survival of paying accounts{f' by {by}' if by else ''}")
    for col in ("group", "accounts", "churned", f"S({at} months) (95% CI)", "median months"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for g in data["groups"]:
        table.add_row(
            str(g["group"]),
            f"{g['n_accounts']:,}",
            f"{g['events']:,}",
            f"{pct(g['s_at'])} ({pct(g['s_at_lower'])}-{pct(g['s_at_upper'])})",
            _months(g["median_months"]),
        )
    console.print(table)
    if data["logrank"]:
        lr = data["logrank"]
        console.print(
            f"Log-rank test across groups: chi-squared {lr['test_statistic']:.1f} on "
            f"{lr['degrees_of_freedom']:.0f} df, p = {q(lr['p_value'])}."
        )
    if data["cox"]:
        hr = Table(title=f"Cox hazard ratios (concordance {data['cox']['concordance']:.2f})")
        for col in ("covariate", "hazard ratio (95% CI)", "p", "PH test p"):
            hr.add_column(col, justify="left" if col == "covariate" else "right")
        for r in data["cox"]["hazard_ratios"]:
            hr.add_row(
                r["covariate"],
                f"{r['hazard_ratio']:.2f} ({r['ci_lower']:.2f}-{r['ci_upper']:.2f})",
                q(r["p_value"]),
                q(r["ph_p_value"]),
            )
        console.print(hr)
    for caveat in data["caveats"]:
        console.print(f"[yellow]caveat:[/] {caveat}")


@command
def ltv_command(
    by: ByOption = None,
    margin: Annotated[float, typer.Option("--margin", help="Gross margin, 0-1.")] = 0.8,
    discount: Annotated[
        float, typer.Option("--discount", help="Annual discount rate for DEL and DERL.")
    ] = 0.10,
    period: Annotated[
        str, typer.Option("--period", help="month or year: the renewal period of the sBG fit.")
    ] = "month",
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Lifetime value by segment: the sBG model fitted to each segment's cohorts of this
    workspace, its discounted expected lifetime (DEL) and residual value (DERL)."""
    if period not in ("month", "year"):
        raise IcploopError(f"unknown period {period!r}", "use month or year")
    warehouse, day = warehouse_on(workspace, as_of)
    result = ltv_by(
        warehouse.tables,
        day,
        by,
        gross_margin=margin,
        annual_discount=discount,
        period="year" if period == "year" else "month",
    )
    data = ltv_dict(result)
    currency = currency_of(workspace)
    if json:
        print_json({**data, "currency": currency})
        return
    table = Table(title=f"Lifetime value {f'by {by}' if by else 'of all accounts'} ({currency})")
    columns = ("group", "paying", "ARPA / month", "churn / month", "DEL", "LTV", "DERL", "residual")
    for col in columns:
        table.add_column(col, justify="left" if col == "group" else "right")
    unit = "years" if period == "year" else "months"
    for g in data["groups"]:
        table.add_row(
            str(g["group"]),
            f"{g['n_accounts']:,}",
            money(g["arpa"]),
            pct(g["churn_rate"], 1),
            "-" if g["del_periods"] is None else f"{g['del_periods']:.1f} {unit}",
            money(g["ltv_sbg"]),
            "-" if g["derl_periods"] is None else f"{g['derl_periods']:.1f} {unit}",
            money(g["residual_value"]),
        )
    console.print(table)
    console.print(
        f"sBG fitted to each group's start cohorts, discounted at {discount:.0%} a year. DEL: "
        f"the expected paying {unit} of a new account; LTV = ARPA x {margin:.0%} margin x DEL. "
        f"DERL: the expected further {unit} of the accounts paying now, by the renewals each "
        "has made; residual = ARPA x margin x DERL (per account). --json adds the simple "
        "ARPA x margin / churn."
    )
    for caveat in data["caveats"]:
        console.print(f"[yellow]caveat:[/] {caveat}")


@command
def champions_command(
    horizon: Annotated[int, typer.Option("--horizon", min=1, help="Months after departure.")] = 12,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Churn after a champion leaves, against comparable accounts (same close cohort and
    tenure, no departure yet), with Kaplan-Meier intervals."""
    warehouse, day = warehouse_on(workspace, as_of)
    result = champion_departures(warehouse.tables, warehouse.optional("contacts"), day, horizon)
    if json:
        print_json({"as_of": day, **result.to_dict()})
        return
    table = Table(title=f"Churn within {horizon} months of a champion's departure")
    for col in ("group", "accounts", f"churn in {horizon} months (95% CI)"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for r in result.summary.to_dict("records"):
        table.add_row(
            r["group"],
            f"{r['accounts']:,}",
            f"{pct(r['churn'])} ({pct(r['churn_lo'])}-{pct(r['churn_hi'])})",
        )
    console.print(table)
    console.print(result.sentence)
    for caveat in result.caveats:
        console.print(f"[yellow]caveat:[/] {caveat}")


def register(app: typer.Typer) -> None:
    """Add ``survival``, ``ltv`` and ``champions`` to the root app."""
    app.command("survival")(survival_command)
    app.command("ltv")(ltv_command)
    app.command("champions")(champions_command)
