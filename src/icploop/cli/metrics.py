"""``icploop metrics`` (headline, breakdowns, the MRR bridge) and ``icploop retention project``."""

from __future__ import annotations

import dataclasses
import datetime as dt
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
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.formatting import count, json_value, money, number, pct
from icploop.metrics.bridge import BridgeResult, mrr_bridge, start_of_last
from icploop.metrics.cohorts import cumulative_logo_retention
from icploop.metrics.headline import headline
from icploop.metrics.lifetime import ShiftedBetaGeometric
from icploop.metrics.retention import retention

retention_app = typer.Typer(help="Retention projections.", no_args_is_help=True)
metrics_app = typer.Typer(
    help="Headline MRR, NRR, GRR, logo churn and quick ratio, and breakdowns with group sizes.",
    invoke_without_command=True,
)
ByOption = Annotated[str | None, typer.Option("--by", help="Break down by ATTR[,ATTR].")]


@metrics_app.callback()
def metrics_command(
    ctx: typer.Context,
    by: ByOption = None,
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="'quarter': break down by close cohort.")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Headline MRR, NRR, GRR, logo churn and quick ratio, and breakdowns with group sizes."""
    if ctx.invoked_subcommand is None:
        with user_errors():
            metrics_report(by, cohort, as_of, as_json, workspace)


@metrics_app.command("bridge")
@command
def bridge_command(
    by: ByOption = None,
    period: Annotated[
        str, typer.Option("--period", help="month or quarter: one bridge row per period.")
    ] = "month",
    periods: Annotated[
        int, typer.Option("--periods", min=1, help="How many periods up to the as-of date.")
    ] = 12,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The MRR bridge: MRR at the start of each period, new, expansion, contraction, churn,
    reactivation and fx, and MRR at its end (they add up to the change, to the cent)."""
    dims = [d.strip() for d in by.split(",") if d.strip()] if by else []
    if period not in ("month", "quarter"):
        raise IcploopError(f"unknown --period {period!r}", "use --period month or quarter")
    warehouse, day = warehouse_on(workspace, as_of)
    start = start_of_last(day, period, periods)  # type: ignore[arg-type]
    result = mrr_bridge(warehouse.tables, day, period=period, by=dims, start=start)  # type: ignore[arg-type]
    currency = currency_of(workspace)
    if as_json:
        print_json({"currency": currency, **result.to_dict()})
        return
    _print_bridge(result, currency)


BRIDGE_LABELS = {
    "mrr_start": "MRR at start",
    "new": "+ new",
    "reactivation": "+ reactivation",
    "expansion": "+ expansion",
    "contraction": "- contraction",
    "churn": "- churn",
    "fx": "+/- fx",
    "mrr_end": "MRR at end",
}


def _print_bridge(result: BridgeResult, currency: str) -> None:
    dims = list(result.by)
    t = Table(title=f"MRR bridge by {result.period} ({currency}), to {result.as_of:%B %Y}")
    for col in ["period", *dims, *BRIDGE_LABELS.values()]:
        t.add_column(col, justify="left" if col in ("period", *dims) else "right")
    for r in result.frame.itertuples(index=False):
        label = f"{r.period} (to date)" if r.partial else r.period
        cells = [money(getattr(r, c)) for c in BRIDGE_LABELS]
        t.add_row(label, *(str(getattr(r, d)) for d in dims), *cells)
    console.print(t)
    for c in result.caveats:
        console.print(f"[yellow]caveat:[/] {c}")


def metrics_report(
    by: str | None, cohort: str | None, as_of: dt.datetime | None, as_json: bool, workspace: Any
) -> None:
    dims = [d.strip() for d in by.split(",") if d.strip()] if by else []
    if cohort is not None:
        if cohort != "quarter":
            raise IcploopError(f"unknown --cohort {cohort!r}", "use --cohort quarter")
        dims = ["close_cohort", *dims]
    if len(dims) > 2:
        raise IcploopError("at most two breakdown attributes", "e.g. --by segment,industry")
    warehouse, day = warehouse_on(workspace, as_of)
    tables = warehouse.tables
    currency = currency_of(workspace)
    head = headline(tables, day)
    groups = retention(tables, day.replace(day=1), by=dims, start=day) if dims else None
    cohorts = groups is not None and "close_cohort" in dims
    if groups is not None and cohorts:
        # a cohort's logo retention to date belongs next to its NRR, not a month's churn rate
        to_date = cumulative_logo_retention(tables, day, by=dims).rename(
            columns={"logo_start": "logo_ever", "logo_retention": "logo_retention_to_date"}
        )
        frame = groups.frame.merge(to_date.drop(columns="logo_active"), on=dims, how="left")
        groups = dataclasses.replace(groups, frame=frame)
    if as_json:
        payload: dict[str, Any] = {"currency": currency, "headline": head.to_dict()}
        if groups is not None:
            records = groups.frame.drop(columns=["period_end"]).to_dict(orient="records")
            payload["breakdown"] = {
                "by": dims,
                "groups": [{k: json_value(v) for k, v in r.items()} for r in records],
                "caveats": list(groups.caveats),
            }
        print_json(payload)
        return
    t = Table(title=f"Headline metrics, {head.as_of:%B %Y}")
    for col in ("metric", "value", "based on"):
        t.add_column(col)
    t.add_row("MRR", money(head.mrr, currency), f"{count(head.active_accounts)} paying accounts")
    t.add_row("NRR (12 months)", pct(head.nrr, 1), f"{count(head.nrr_accounts)} accounts")
    t.add_row("GRR (12 months)", pct(head.grr, 1), f"{count(head.nrr_accounts)} accounts")
    t.add_row(
        "Logo churn (month)", pct(head.logo_churn_rate, 1), f"{count(head.logo_start)} accounts"
    )
    t.add_row("Quick ratio (month)", number(head.quick_ratio), "")
    console.print(t)
    if groups is not None:
        b = Table(title=f"By {', '.join(dims)}")
        for col in [
            *dims,
            "accounts",
            f"MRR base ({currency})",
            "NRR",
            "GRR",
            *(["logo retention (to date)"] if cohorts else []),
            "logo churn (month)",
            "quick ratio",
        ]:
            b.add_column(col)
        for r in groups.frame.itertuples(index=False):
            b.add_row(
                *(str(getattr(r, d)) for d in dims),
                count(r.n_accounts),
                money(r.mrr_base),
                pct(r.nrr, 1),
                pct(r.grr, 1),
                *([pct(r.logo_retention_to_date, 1)] if cohorts else []),
                pct(r.logo_churn_rate, 1),
                number(r.quick_ratio),
            )
        console.print(b)
        for c in groups.caveats:
            console.print(f"[yellow]caveat:[/] {c}")


@retention_app.command("project")
@command
def project_command(
    alive: Annotated[str, typer.Option("--alive", help="Survivors N0,N1,...,Nk (period 0 first).")],
    horizon: Annotated[int, typer.Option("--horizon", help="Project to this period.")],
    discount: Annotated[
        float | None, typer.Option("--discount", help="Discount rate per period, e.g. 0.1.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the shifted-beta-geometric model to one cohort and project its retention."""
    try:
        counts = [int(x) for x in alive.split(",") if x.strip()]
    except ValueError as exc:
        raise IcploopError("--alive takes whole numbers separated by commas") from exc
    if horizon < 0:
        raise IcploopError("--horizon must be 0 or more")
    model = ShiftedBetaGeometric().fit(counts)
    proj = model.projection(horizon)
    proj["observed"] = [counts[t] if t < len(counts) else None for t in proj.period]
    payload: dict[str, Any] = {
        "alpha": model.alpha_,
        "beta": model.beta_,
        "log_likelihood": model.log_likelihood_,
        "projection": [
            {k: json_value(v) for k, v in r.items()} for r in proj.to_dict(orient="records")
        ],
    }
    if discount is not None:
        payload["discount"] = discount
        payload["discounted_expected_lifetime"] = model.discounted_expected_lifetime(discount)
        payload["discounted_expected_residual_lifetime"] = (
            model.discounted_expected_residual_lifetime(discount, len(counts) - 1)
        )
    if as_json:
        print_json(payload)
        return
    console.print(f"sBG fit: alpha = {model.alpha_:.4f}, beta = {model.beta_:.4f}")
    t = Table(title="Projected retention")
    for col in ("period", "observed", "projected alive", "survival", "retention rate"):
        t.add_column(col, justify="right")
    for r in proj.itertuples(index=False):
        t.add_row(
            str(r.period),
            "" if r.observed is None or r.observed != r.observed else str(int(r.observed)),
            f"{r.projected_alive:,.1f}",
            pct(r.survival, 1),
            pct(r.retention_rate, 1),
        )
    console.print(t)
    if discount is not None:
        console.print(
            f"DEL({discount}) = {payload['discounted_expected_lifetime']:.3f} periods; "
            f"DERL after {len(counts) - 1} renewals = "
            f"{payload['discounted_expected_residual_lifetime']:.3f} periods"
        )


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(retention_app, name="retention")
