"""``icploop reasons`` (churn reasons, hypothesis checks, returning objections) and
``icploop cost`` (cost to serve against gross margin)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    currency_of,
    data_as_of,
    emit_rows,
    open_warehouse,
    print_json,
    user_errors,
)
from icploop.cost.profitability import cost_to_serve
from icploop.cost.serve import DEFAULT_RATES, CostSettings
from icploop.errors import IcploopError
from icploop.formatting import money
from icploop.reasons.evidence import ReasonTables
from icploop.reasons.hypothesis import MEASURE_LABELS, check_hypothesis
from icploop.reasons.objections import returning_objections
from icploop.reasons.pareto import churn_reasons
from icploop.reasons.taxonomy import load_taxonomy

reasons_app = typer.Typer(
    help="Churn reasons from evidence: the Pareto table, hypothesis checks, returning objections.",
    invoke_without_command=True,
)
WindowOption = Annotated[int, typer.Option("--window", min=1, help="Months of losses to explain.")]
TaxonomyOption = Annotated[
    Path | None, typer.Option("--taxonomy", help="A reason taxonomy YAML (default: shipped).")
]


def _open(workspace: Path | None, as_of: dt.datetime | None) -> tuple[Any, dt.date]:
    warehouse = open_warehouse(workspace)
    return warehouse.backend, data_as_of(warehouse, as_of)


@reasons_app.callback()
def reasons_callback(
    ctx: typer.Context,
    window: WindowOption = 12,
    taxonomy: TaxonomyOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Why accounts churned or contracted in the window: one reason each, ranked (Pareto)."""
    if ctx.invoked_subcommand is None:
        pareto_command(window, taxonomy, as_of, json, workspace)


def pareto_command(
    window: int = 12,
    taxonomy: Path | None = None,
    as_of: dt.datetime | None = None,
    json: bool = False,
    workspace: Path | None = None,
) -> None:
    """The Pareto table of churn reasons (what ``icploop reasons`` prints)."""
    with user_errors():
        backend, day = _open(workspace, as_of)
        result = churn_reasons(
            ReasonTables.from_backend(backend), day, window, taxonomy=load_taxonomy(taxonomy)
        )
        currency = currency_of(workspace)
        if json:
            print_json({"currency": currency, **result.to_dict()})
            return
        rows = [
            {
                **r,
                "lost_mrr": money(r["lost_mrr"], currency),
                "share": f"{r['share']:.0%}",
                "cumulative_share": f"{r['cumulative_share']:.0%}",
                "sample": "; ".join(f"{s['account_id']}: {s['text']}" for s in r["samples"][:1]),
            }
            for r in result.table.to_dict("records")
        ]
        console.print(
            f"{result.n_accounts} accounts churned or contracted in the {window} months to {day}"
        )
        emit_rows(
            rows,
            False,
            {
                "label": "reason",
                "accounts": "accounts",
                "lost_mrr": "lost MRR",
                "share": "share",
                "cumulative_share": "cumulative",
                "sample": "sample evidence",
            },
        )
        for c in result.clusters[:3]:
            console.print(
                f'unmatched: {c["accounts"]} accounts say "{c["texts"][0]}" ({", ".join(c["terms"])})'
            )
        for caveat in result.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")


@reasons_app.command("test")
def test_command(
    hypothesis: Annotated[str, typer.Argument(help='A reason or ticket category, e.g. "support".')],
    window: WindowOption = 12,
    lookback: Annotated[int, typer.Option(min=1, help="Months of evidence before a loss.")] = 6,
    taxonomy: TaxonomyOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Does the evidence support "HYPOTHESIS causes churn"? Churned vs retained accounts of the
    same segment and tenure."""
    with user_errors():
        backend, day = _open(workspace, as_of)
        result = check_hypothesis(
            ReasonTables.from_backend(backend),
            day,
            hypothesis,
            window,
            lookback,
            taxonomy=load_taxonomy(taxonomy),
        )
        if json:
            print_json(result.to_dict())
            return
        rows = []
        for name, eff in result.measures.items():
            c, r = result.means.get(name, (None, None))
            rows.append(
                {
                    "measure": MEASURE_LABELS[name],
                    "churned": c,
                    "retained": r,
                    "effect": f"{eff.estimate:.2f} ({eff.lo:.2f} to {eff.hi:.2f})"
                    if math.isfinite(eff.lo)
                    else "n/a (no accounts show it)",
                    "p": f"{eff.p_value:.2g}" if math.isfinite(eff.p_value) else "-",
                }
            )
        emit_rows(
            rows,
            False,
            {
                "measure": "measure",
                "churned": "churned",
                "retained": "retained",
                "effect": "effect (95% CI)",
                "p": "p",
            },
        )
        console.print(f"[bold]{result.verdict}:[/] {result.sentence}")
        for caveat in result.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")


@reasons_app.command("objections")
def objections_command(
    window: WindowOption = 12,
    taxonomy: TaxonomyOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Objections from lost deals and sales notes that returned as churn reasons."""
    with user_errors():
        backend, day = _open(workspace, as_of)
        result = returning_objections(
            ReasonTables.from_backend(backend), day, window, load_taxonomy(taxonomy)
        )
        if json:
            print_json(result.to_dict())
            return
        emit_rows(
            result.by_reason.to_dict("records"),
            False,
            {
                "label": "reason",
                "lost_deals": "lost deals",
                "won_accounts_raised": "raised (won)",
                "returned": "returned",
                "return_rate": "return rate",
                "rate_without_objection": "rate without",
            },
        )
        emit_rows(
            result.by_owner.to_dict("records"),
            False,
            {"reason": "reason", "segment": "segment", "ae": "AE", "returned": "returned"},
            limit=15,
        )


def _rates(values: list[str]) -> dict[str, float]:
    rates = dict(DEFAULT_RATES)
    for v in values:
        team, _, rate = v.partition("=")
        try:
            rates[team.strip()] = float(rate)
        except ValueError:
            raise IcploopError(f"bad rate {v!r}", "use TEAM=RATE, e.g. --rate cs=95") from None
    return rates


def cost_command(
    window: WindowOption = 12,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            help="Hourly rate TEAM=RATE (repeatable); defaults cs=95 support=60 services=140 product=120."
        ),
    ] = None,
    gross_margin: Annotated[float, typer.Option(help="Gross margin on MRR.")] = 0.8,
    tier_by: Annotated[
        str, typer.Option(help="Account column or attribute naming the tier.")
    ] = "plan_tier",
    tiers: Annotated[
        str, typer.Option(help="Tiers from highest touch down, comma-separated.")
    ] = "premium,growth,starter",
    high_touch: Annotated[str, typer.Option(help="High-touch tiers, comma-separated.")] = "premium",
    top: Annotated[int, typer.Option(help="Recommended moves to show.")] = 10,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Cost to serve against gross margin by tier and segment, and the accounts to move to a
    lower-touch tier."""
    with user_errors():
        backend, day = _open(workspace, as_of)
        tables = ReasonTables.from_backend(backend).canonical
        try:
            costs = backend.table("costs")
        except Exception:  # the backend's "no such table" error varies by engine
            raise IcploopError(
                "no costs table loaded", "load costs.csv with `icploop load`"
            ) from None
        settings = CostSettings(
            rates=_rates(rate or []),
            gross_margin=gross_margin,
            window_months=window,
            tier_by=tier_by,
            tier_order=tuple(t.strip() for t in tiers.split(",") if t.strip()),
            high_touch=tuple(t.strip() for t in high_touch.split(",") if t.strip()),
        )
        result = cost_to_serve(tables, costs, day, settings)
        currency = currency_of(workspace)
        if json:
            print_json({"currency": currency, **result.to_dict(top)})
            return
        emit_rows(
            [
                {
                    **r,
                    **{
                        k: money(r[k], currency)
                        for k in ("revenue", "margin", "cost", "contribution")
                    },
                    "unprofitable_share": f"{r['unprofitable_share']:.0%}",
                    "contribution_margin": f"{r['contribution_margin']:.0%}",
                }
                for r in result.tiers.to_dict("records")
            ],
            False,
            {
                "tier": "tier",
                "segment": "segment",
                "accounts": "accounts",
                "revenue": "revenue",
                "margin": "gross margin",
                "cost": "cost to serve",
                "contribution": "contribution",
                "contribution_margin": "contribution %",
                "unprofitable": "unprofitable",
                "unprofitable_share": "share",
            },
        )
        amounts = ("margin_per_month", "cost_per_month", "expected_cost", "margin_gain_month")
        emit_rows(
            [
                {**r, **{k: money(r[k], currency) for k in amounts}}
                for r in result.moves.head(top).to_dict("records")
            ],
            False,
            {
                "account_id": "account",
                "tier": "tier",
                "target_tier": "move to",
                "margin_per_month": "margin/mo",
                "cost_per_month": "cost/mo",
                "expected_cost": "cost after",
                "margin_gain_month": "gain/mo",
            },
        )
        total = float(result.moves["margin_gain_year"].sum()) if len(result.moves) else 0.0
        console.print(
            f"{len(result.moves)} unprofitable high-touch accounts; moving them would add about "
            f"{money(total, currency)} a year of margin (docs/reasons.md shows the arithmetic)"
        )
        for caveat in result.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")


def register(app: typer.Typer) -> None:
    """Add ``icploop reasons`` and ``icploop cost`` to the root app."""
    app.add_typer(reasons_app, name="reasons")
    app.command("cost")(cost_command)
