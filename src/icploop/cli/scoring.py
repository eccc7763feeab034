"""``icploop score`` and ``icploop deals``: scoring a CSV of leads or open opportunities, and the
deal-time fit check of the open deals in the warehouse, against the ICP rules in force
(``icploop.icp.in_force``). Analytics live in ``icploop.scoring``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from icploop import model_files
from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    VersionOption,
    WorkspaceOption,
    console,
    data_as_of,
    fit_config_of,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.generations import open_analytics
from icploop.icp.in_force import RulesInForce
from icploop.scoring.apply import fill_from_accounts, is_deal_batch, score_batch
from icploop.scoring.deal_check import open_deal_checks
from icploop.scoring.train import INSUFFICIENT, TIERS, unscored_columns
from icploop.spreadsheet import neutralise_frame
from icploop.warehouse import Warehouse, today_or

deals_app = typer.Typer(help="Deal-time fit checks of open opportunities.")


def _rules(workspace: Path | None, icp: Path | None, day: dt.date) -> RulesInForce:
    """The ICP rules of the deal check: from a YAML file, else those in force on ``day``."""
    from icploop.icp.in_force import rules_from_file, rules_in_force
    from icploop.store.database import open_store

    if icp is not None:
        return rules_from_file(icp, day)
    fallback = fit_config_of(workspace).icp_criteria
    with open_store(settings_for(workspace))() as session:
        return rules_in_force(session, day, fallback)


def _rename_by_mapping(records: pd.DataFrame, mapping: Path) -> pd.DataFrame:
    """Plain column renames from a mapping file's accounts and deals entries."""
    from icploop.ingest.mapping import load_mapping

    renames: dict[str, str] = {}
    for table in load_mapping(mapping).tables:
        if table.table not in ("accounts", "deals"):
            continue
        for canonical, spec in table.columns.items():
            source = spec if isinstance(spec, str) else getattr(spec, "column", None)
            if source and source in records.columns:
                renames[source] = canonical
    return records.rename(columns=renames)


def score_command(
    file: Annotated[Path, typer.Argument(help="CSV of leads or open opportunities.")],
    out: Annotated[Path | None, typer.Option(help="Default: FILE.scored.csv.")] = None,
    version: VersionOption = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file whose plain column renames to apply.")
    ] = None,
    icp: Annotated[
        Path | None,
        typer.Option(help="ICP YAML for the deal check (default the version in force)."),
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Score a CSV: fit score, tier, points and top reasons; open deals also get the fit check."""
    with user_errors():
        if not file.exists():
            raise IcploopError(f"no such file: {file}", "give the path of a CSV file")
        records = pd.read_csv(file, dtype=str, keep_default_na=False)
        if mapping is not None:
            records = _rename_by_mapping(records, mapping)
        settings = settings_for(workspace)
        name, model, points, _report = model_files.load(settings.workspace, version)
        # with no data loaded, the records are scored alone and the rules in force today apply
        warehouse = Warehouse(open_analytics(settings))
        tables = warehouse.tables if warehouse.has("mrr_monthly") else None
        day = data_as_of(warehouse, None) if tables is not None else today_or(None)
        rules = _rules(workspace, icp, day) if is_deal_batch(records) else None
        criteria, dnc = (rules.criteria, rules.do_not_close) if rules else ((), ())
        scored = score_batch(records, model, points, tables, criteria, dnc, day)
        missing = unscored_columns(fill_from_accounts(records, tables), model)
        target = out or file.with_name(file.stem + ".scored.csv")
        # a name like =HYPERLINK(...) from the input must not become a formula in the output
        neutralise_frame(scored).to_csv(target, index=False)
        counts = scored["fit_tier"].value_counts().reindex(list(TIERS), fill_value=0)
        if not counts[INSUFFICIENT]:
            counts = counts.drop(INSUFFICIENT)
        if json:
            print_json(
                {
                    "version": name,
                    "rows": len(scored),
                    "out": str(target),
                    "tiers": counts.to_dict(),
                    "missing_columns": missing,
                }
            )
            return
        console.print(f"Scored {len(scored):,} rows with fit model {name}; wrote {target}")
        if missing:
            console.print(
                f"[yellow]warning:[/] no column for {', '.join(missing)}: scored as missing "
                "(add the columns, or rename them with --mapping)"
            )
        table = Table("tier", "rows", "share")
        for tier, n in counts.items():
            table.add_row(str(tier), f"{n:,}", f"{n / max(len(scored), 1):.0%}")
        console.print(table)
        if "at_risk" in scored.columns:
            console.print(f"{int(scored['at_risk'].sum())} open deals carry at least one fit risk.")


@deals_app.command("check")
def deals_check(
    as_of: AsOfOption = None,
    icp: Annotated[
        Path | None, typer.Option(help="ICP YAML (default the version in force).")
    ] = None,
    workspace: WorkspaceOption = None,
    top: Annotated[int, typer.Option(help="At-risk deals to list (0 for all).")] = 20,
    json: JsonOption = False,
) -> None:
    """Open opportunities in the warehouse and the traits that put them at risk."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        tables = warehouse.tables
        rules = _rules(workspace, icp, day)
        criteria, dnc = rules.criteria, rules.do_not_close
        patterns, rows = open_deal_checks(tables, day, criteria, dnc)
        rows = rows.drop(columns="ae", errors="ignore")  # the command lists deals, not owners
        if json:
            print_json(
                {
                    **rules.to_dict(),
                    "ae_patterns": [p.describe() for p in patterns],
                    "deals": rows.to_dict("records"),
                }
            )
            return
        at_risk = rows[rows["at_risk"]]
        console.print(
            f"{len(rows)} open deals, {len(at_risk)} at risk; ICP criteria from {rules.source}: "
            f"{', '.join(r.describe() for r in criteria) or 'none (publish an ICP or pass --icp)'}."
        )
        for p in patterns:
            console.print(f"- {p.describe()}")
        shown = at_risk if top <= 0 else at_risk.head(top)
        for r in shown.to_dict("records"):
            console.print(
                f"{r['deal_id']} ({r['account_id']}, closes {r['close_date']}): {r['risks']}"
            )
        if len(shown) < len(at_risk):
            console.print(f"{len(at_risk) - len(shown)} more at risk: --top 0 or --json")


def register(app: typer.Typer) -> None:
    """Add the scoring commands to the root app."""
    app.command("score")(score_command)
    app.add_typer(deals_app, name="deals")
