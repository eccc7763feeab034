"""``icploop model``: the fit model trained on retention (train, report, points table export).

Analytics live in ``icploop.scoring``; stored versions in ``icploop.model_files``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from icploop import model_files
from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    VersionOption,
    WorkspaceOption,
    console,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.config import existing_workspace
from icploop.errors import IcploopError
from icploop.scoring.evaluate import Evaluation
from icploop.scoring.features import (
    deal_history,
    target_spec,
    training_frame,
    workspace_overrides,
)
from icploop.scoring.train import train_fit
from icploop.warehouse import Warehouse

model_app = typer.Typer(help="The fit model trained on retention: train, report, points table.")


def evaluation_json(ev: Evaluation) -> dict[str, Any]:
    return {
        "target": ev.target,
        "target_description": ev.target_description,
        "split_date": ev.split_date,
        "train_accounts": ev.train_accounts,
        "test_accounts": ev.test_accounts,
        "test_closed": [ev.test_from, ev.test_to],
        "first_year_churn_rate": ev.base_rate,
        "has_skill": ev.has_skill,
        "beats_baselines": ev.beats_baselines,
        "sentence": ev.sentence,
        "tiers_monotone": ev.tiers_monotone,
        "tier_sentence": ev.tier_sentence,
        "metrics": ev.metrics.to_dict("records"),
        "tiers": ev.tiers.to_dict("records"),
        "calibration": ev.calibration.to_dict("records"),
        "caveats": list(ev.caveats),
    }


def print_report(report: dict[str, Any]) -> None:
    """The comparison table, the tier table and the plain sentence."""
    what = report.get("target_description", "first-year churn")
    held = "the newest cohorts (time split)" if report.get("split_date") else "held-out accounts"
    table = Table(title=f"Predicting {what} on {held}")
    for col in ("score", "AUC (95% CI)", "Brier (base)", "calib. slope", "top 10% lift"):
        table.add_column(col, justify="left" if col == "score" else "right")
    for m in report["metrics"]:
        table.add_row(
            m["score"],
            f"{m['auc']:.2f} ({m['auc_lo']:.2f}-{m['auc_hi']:.2f})",
            f"{m['brier']:.3f} ({m['base_brier']:.3f})",
            f"{m['calibration_slope']:.2f}",
            f"{m['top_decile_lift']:.1f}x",
        )
    console.print(table)
    tiers = Table(title="Fit tiers on the held-out accounts")
    for col in ("tier", "accounts", "event rate", "12-month NRR"):
        tiers.add_column(col, justify="right")
    for t in report["tiers"]:
        nrr = t.get("nrr_12m")
        tiers.add_row(
            t["tier"],
            str(t["accounts"]),
            f"{t['churn_rate']:.1%}",
            "-" if nrr is None or nrr != nrr else f"{nrr:.1%}",
        )
    console.print(tiers)
    console.print(report["sentence"])
    console.print(report["tier_sentence"])
    for caveat in report.get("caveats", []):
        console.print(f"[yellow]caveat:[/] {caveat}")


@model_app.command("train")
def train(
    as_of: AsOfOption = None,
    split: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Test on accounts closed from this date."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="churn_12m (first-year churn), churn_any (churned, with the months observed as "
            "exposure: a snapshot with tenure), activation, or column:NAME (a 0/1 attribute). "
            "Default: churn_12m when the workspace has won deals, else churn_any."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Train on the workspace's own attributes, compare with a logistic regression and the
    baselines on held-out accounts, store a new version."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        backend, tables = warehouse.backend, warehouse.tables
        deals = deal_history(tables)
        chosen = target_spec(target or ("churn_12m" if (deals["won"] == 1).any() else "churn_any"))
        history = training_frame(tables, day, chosen, Warehouse(backend).optional("usage"))
        trained = train_fit(
            history,
            deals,
            day,
            split.date() if split else None,
            target=chosen,
            overrides=workspace_overrides(tables),
        )
        report = {
            "as_of": day,
            "target": chosen.name,
            "target_description": chosen.description,
            "accounts": trained.accounts,
            "features": {
                "dimensions": list(trained.features.categorical),
                "measures": list(trained.features.numeric),
                "exposure": trained.features.exposure,
            },
            "evaluation": evaluation_json(trained.evaluation),
            "model": trained.model.summary().to_dict("records"),
        }
        version = model_files.save(
            settings_for(workspace).workspace, trained.model, trained.points, report
        )
        if json:
            print_json({"version": version, **report})
            return
        ev = trained.evaluation
        held = (
            f"evaluated on those closed from {ev.split_date}"
            if ev.split_date
            else f"evaluated on {ev.test_accounts:,} held out at random"
        )
        console.print(
            f"Fit model {version}: predicts {chosen.description}; trained as of {day} on "
            f"{trained.accounts:,} accounts with a known outcome; {held}."
        )
        console.print(
            "Features: "
            + ", ".join(trained.features.attributes)
            + (f"; exposure: {trained.features.exposure}" if trained.features.exposure else "")
        )
        print_report(report["evaluation"])


@model_app.command("report")
def report_command(
    version: VersionOption = None, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """The stored evaluation of a version."""
    with user_errors():
        name, _m, _p, report = model_files.load(settings_for(workspace).workspace, version)
        if json:
            print_json(report)
            return
        console.print(f"Fit model {name}, trained as of {report['as_of']}.")
        print_report(report["evaluation"])


@model_app.command("points")
def points_command(
    version: VersionOption = None,
    format: Annotated[str, typer.Option("--format", help="csv or yaml.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The points table (attribute bins to points, tier minimums) for a CRM or a spreadsheet."""
    with user_errors():
        if format not in ("csv", "yaml"):
            raise IcploopError(f"unknown format {format!r}", "use csv or yaml")
        _n, _m, points, _r = model_files.load(settings_for(workspace).workspace, version)
        text = points.to_csv() if format == "csv" else points.to_yaml()
        if out:
            out.write_text(text)
            console.print(f"wrote {out}")
        else:
            typer.echo(text, nl=False)


@model_app.command("list")
def list_command(workspace: WorkspaceOption = None) -> None:
    """Stored versions."""
    with user_errors():
        stored = model_files.versions(existing_workspace(settings_for(workspace).workspace))
        for v in stored:
            console.print(v)
        if not stored:
            console.print("no fit model stored yet: icploop model train makes one")


def register(app: typer.Typer) -> None:
    """Add the model commands to the root app."""
    app.add_typer(model_app, name="model")
