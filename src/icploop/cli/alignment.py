"""``icploop scorecard`` and ``icploop experiment``: long-term value per AE, lead source or
campaign, and go-to-market experiments on segments measured against a control."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.table import Column, Table

from icploop.cli.common import (
    ActorOption,
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    currency_of,
    emit_rows,
    fit_config_of,
    fit_tags_of,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.formatting import count, estimate, pct, points, q, thousands

experiment_app = typer.Typer(
    help="GTM experiments on segments: record, list, measure, stop, delete."
)

DateOption = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]


def _inputs(workspace: Any, as_of: dt.datetime | None) -> tuple[Any, dt.date, pd.DataFrame]:
    from icploop.segments.frames import account_frame

    warehouse, day = warehouse_on(workspace, as_of)
    return warehouse.backend, day, account_frame(warehouse.backend, day)


def scorecard_command(
    by: Annotated[
        str, typer.Option("--by", help="ae, lead_source or campaign (where deals carry one).")
    ] = "ae",
    quarters: Annotated[
        int, typer.Option("--quarters", min=1, help="Quarters of closes in the team view.")
    ] = 8,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Bookings next to retained bookings (MRR 12 months later) per AE, lead source or campaign,
    ranked both ways with the gap; young cohorts projected from their fit-tag mix."""
    from icploop.alignment.scorecard import BY
    from icploop.review.alignment import team_scorecard
    from icploop.store.database import open_store

    with user_errors():
        if by not in BY:
            raise IcploopError(f"unknown --by {by!r}", f"use one of: {', '.join(BY)}")
        warehouse, day = warehouse_on(workspace, as_of)
        config = fit_config_of(workspace)
        with open_store(settings_for(workspace))() as session:
            card = team_scorecard(warehouse.backend, session, day, by, quarters, config)
        if json:
            print_json({"currency": currency_of(workspace), **card.to_dict()})
            return
        console.print(
            f"New customers closed {card.window[0]} to {card.window[1]}, as of {card.as_of}. "
            f"Bookings = new MRR in {currency_of(workspace)} (k = thousands); retained bookings = the same accounts' MRR 12 "
            "months after their first paid month (projected from the fit-tag mix for accounts "
            "under a year)."
        )
        headers = (by, "deals", "bookings", "rank", "retained (95%)", "proj.", "rank",
                   "gap", "NRR", "bad fit", "disc.", "churn 1y (n)", "q")  # fmt: skip
        cells = [
            (
                r["group"], f"{r['deals']:,}", thousands(r["bookings"]), count(r["bookings_rank"]),
                estimate(r["retained_bookings"], r["retained_low"], r["retained_high"]),
                pct(r["projected_share"]), count(r["retained_rank"]),
                points(r["rank_gap"], 0),
                pct(r["nrr"]), pct(r["bad_fit_share"]), pct(r["avg_discount"], 1),
                f"{pct(r['churn_rate'])} ({r['churn_n']})",
                q(r["q_value"]),
            )
            for r in card.to_dict()["team"]
        ]  # fmt: skip
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        table = Table(
            *(Column(h, no_wrap=True, min_width=w) for h, w in zip(headers, widths, strict=True)),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for row, stands in zip(cells, card.team["stands_apart"], strict=True):
            table.add_row(*row, style="bold red" if stands else None)
        console.print(table)
        for sentence in card.sentences():
            console.print(f"[bold]{sentence}[/]", highlight=False)
        for caveat in card.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}", highlight=False)


def _control(segments: list[str], period: str | None) -> dict[str, Any] | None:
    if segments and period:
        raise IcploopError("give a control segment or a control period, not both")
    if segments:
        return {"kind": "segment", "rules": segments}
    if period:
        start, sep, end = period.partition(":")
        if not sep:
            raise IcploopError("--control-period needs START:END", "e.g. 2022-01-01:2022-12-31")
        return {"kind": "period", "start": start.strip(), "end": end.strip()}
    return None


@experiment_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name for the experiment.")],
    segment: Annotated[
        list[str],
        typer.Option(
            "--segment", help="A rule, e.g. 'industry == Hospitality' (repeat: all hold)."
        ),
    ],
    change_kind: Annotated[
        str, typer.Option("--change-kind", help="campaign, messaging, qualification or other.")
    ],
    change: Annotated[str, typer.Option("--change", help="What changed for this segment.")],
    start: Annotated[dt.datetime, typer.Option("--start", formats=["%Y-%m-%d"])],
    actor: ActorOption,
    end: Annotated[
        dt.datetime | None, typer.Option("--end", formats=["%Y-%m-%d"], help="Last day.")
    ] = None,
    control_segment: Annotated[
        list[str] | None,
        typer.Option("--control-segment", help="A control rule over the same dates (repeat)."),
    ] = None,
    control_period: Annotated[
        str | None,
        typer.Option("--control-period", help="The same segment over START:END instead."),
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Record an experiment (RevOps, Marketing, sales managers). Without a control, the same
    segment in the period of the same length before the start is the control."""
    from icploop.icp.experiments import add_experiment, describe
    from icploop.review.alignment import experiment_attributes
    from icploop.store.database import open_store

    with user_errors():
        backend, day, accounts = _inputs(workspace, None)
        kinds = experiment_attributes(backend, accounts, day)
        backend.disconnect()
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        record = add_experiment(
            session,
            actor,
            name,
            list(segment),
            change_kind,
            change,
            start.date(),
            end=end.date() if end else None,
            control=_control(list(control_segment or []), control_period),
            kinds=kinds,
        )
        data = describe(record)
    if json:
        print_json(data)
        return
    console.print(
        f"recorded experiment #{data['id']} {data['name']}: {data['segment']} from "
        f"{data['start']}; control: {data['control_text']}",
        highlight=False,
    )


@experiment_app.command("list")
def list_command(workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """Every experiment: segment, change, dates and control."""
    from icploop.icp.experiments import describe, list_experiments
    from icploop.store.database import open_store

    with user_errors(), open_store(settings_for(workspace))() as session:
        rows = [describe(r) for r in list_experiments(session)]
    emit_rows(
        rows,
        json,
        {"id": "id", "name": "name", "segment": "segment", "change_kind": "kind",
         "start": "start", "end": "end", "control_text": "control", "created_by": "by"},
        footer="{n} experiments",
    )  # fmt: skip


@experiment_app.command("stop")
def stop(
    name: Annotated[str, typer.Argument(help="Experiment name or id.")],
    end: Annotated[dt.datetime, typer.Option("--end", formats=["%Y-%m-%d"], help="Last day.")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Set an experiment's last day: its cohorts stop there."""
    from icploop.icp.experiments import stop_experiment
    from icploop.store.database import open_store

    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        record = stop_experiment(session, actor, name, end.date())
        console.print(f"experiment {record.name} ends on {record.end_date}", highlight=False)


@experiment_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="Experiment name or id.")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete an experiment (who recorded it, RevOps or an admin); the audit log keeps it."""
    from icploop.icp.experiments import delete_experiment
    from icploop.store.database import open_store

    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        deleted = delete_experiment(session, actor, name)
    console.print(f"experiment {deleted} deleted", highlight=False)


@experiment_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Experiment name or id.")],
    as_of: AsOfOption = None,
    min_accounts: Annotated[
        int, typer.Option("--min-accounts", min=1, help="Fewest observations to measure.")
    ] = 30,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """The experiment's cohorts against its control: win rate, discount, fit-tag mix,
    first-year churn and NRR with 95% intervals, or "not yet measurable"."""
    from icploop.icp.experiments import describe, get_experiment, measure
    from icploop.segments.frames import deal_frame
    from icploop.store.database import open_store

    with user_errors(), open_store(settings_for(workspace))() as session:
        record = get_experiment(session, name)
        backend, day, accounts = _inputs(workspace, as_of)
        deals = deal_frame(backend, dt.date(1900, 1, 1), day)
        tags = fit_tags_of(workspace, backend, day).on(day)
        result = measure(record, accounts, deals, tags, day, min_accounts)
        definition = describe(record)
    data = {**definition, "result": result.to_dict()}
    if json:
        print_json(data)
        return
    console.print(
        f"[bold]{definition['name']}[/] ({definition['change_kind']}): {definition['change']}",
        highlight=False,
    )
    console.print(f"experiment: {result.experiment.describe()}", highlight=False)
    console.print(f"control ({result.control_kind}): {result.control.describe()}", highlight=False)
    console.print(f"as of {result.as_of}: [bold]{result.status}[/]", highlight=False)
    table = Table("metric", "experiment", "95% CI", "control", "95% CI", "difference", "95% CI",
                  "n", "verdict")  # fmt: skip
    for r in data["result"]["metrics"]:
        table.add_row(
            r["label"], pct(r["experiment"], 1),
            f"{pct(r['experiment_low'], 1)}-{pct(r['experiment_high'], 1)}",
            pct(r["control"], 1), f"{pct(r['control_low'], 1)}-{pct(r['control_high'], 1)}",
            pct(r["difference"], 1), f"{pct(r['ci_low'], 1)} to {pct(r['ci_high'], 1)}",
            f"{r['n_experiment']} / {r['n_control']}", r["verdict"],
        )  # fmt: skip
    console.print(table)
    mix = result.tag_mix
    console.print(
        "90-day fit-tag mix: "
        + "; ".join(
            f"{side} {m['tagged']} tagged of {m['accounts']} "
            f"(strong {pct(m['strong_fit'])}, near {pct(m['near_fit'])}, "
            f"bad {pct(m['bad_fit'])})"
            for side, m in mix.items()
        ),
        highlight=False,
    )
    for caveat in result.caveats:
        console.print(f"[yellow]caveat:[/] {caveat}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``icploop scorecard`` and ``icploop experiment`` to the root app."""
    app.command("scorecard")(scorecard_command)
    app.add_typer(experiment_app, name="experiment")
