"""``icploop reasons``: churn reasons, hypothesis checks, returning objections."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
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
from icploop.formatting import money, unknown
from icploop.formatting import q as fmt_q
from icploop.reasons.evidence import ReasonTables
from icploop.reasons.hypothesis import MEASURE_LABELS, check_hypothesis
from icploop.reasons.objections import returning_objections
from icploop.reasons.pareto import churn_reasons
from icploop.reasons.taxonomy import load_taxonomy

#: groups of unmatched reasons printed (the rest are counted; ``--json`` lists them all)
SHOWN_CLUSTERS = 3

reasons_app = typer.Typer(
    help="Churn reasons from evidence: the Pareto table, hypothesis checks, returning objections.",
    invoke_without_command=True,
)
WindowOption = Annotated[int, typer.Option("--window", min=1, help="Months of losses to explain.")]
TaxonomyOption = Annotated[
    Path | None, typer.Option("--taxonomy", help="A reason taxonomy YAML (default: shipped).")
]


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
        warehouse, day = warehouse_on(workspace, as_of)
        backend = warehouse.backend
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
        for c in result.clusters[:SHOWN_CLUSTERS]:
            console.print(
                f'unmatched: {c["accounts"]} accounts say "{c["texts"][0]}" ({", ".join(c["terms"])})'
            )
        if len(result.clusters) > SHOWN_CLUSTERS:
            hidden = len(result.clusters) - SHOWN_CLUSTERS
            console.print(f"{hidden} more groups of unmatched reasons: --json")
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
        warehouse, day = warehouse_on(workspace, as_of)
        backend = warehouse.backend
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
                    else unknown("no accounts show it"),
                    "p": fmt_q(eff.p_value),
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
        warehouse, day = warehouse_on(workspace, as_of)
        backend = warehouse.backend
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


def register(app: typer.Typer) -> None:
    """Add ``icploop reasons`` to the root app."""
    app.add_typer(reasons_app, name="reasons")
