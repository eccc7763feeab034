"""``icploop cost``: cost to serve against gross margin by tier and segment, and the accounts to
move to a lower-touch tier. Analytics live in ``icploop.cost``."""

from __future__ import annotations

from typing import Annotated

import typer

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    currency_of,
    emit_rows,
    print_json,
    user_errors,
    warehouse_on,
)
from icploop.cost.profitability import cost_to_serve
from icploop.cost.serve import DEFAULT_RATES, CostSettings
from icploop.errors import IcploopError
from icploop.formatting import money
from icploop.reasons.evidence import ReasonTables

WindowOption = Annotated[int, typer.Option("--window", min=1, help="Months of losses to explain.")]


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
        warehouse, day = warehouse_on(workspace, as_of)
        backend = warehouse.backend
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
    """Add ``icploop cost`` to the root app."""
    app.command("cost")(cost_command)
