"""``icploop run``: the daily loop in one idempotent command (see :mod:`icploop.daily.run`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from icploop.cli.common import (
    DeadlineOption,
    JsonOption,
    WaitOption,
    WorkspaceOption,
    console,
    err_console,
    fit_config_of,
    print_json,
    settings_for,
    user_errors,
)
from icploop.errors import IcploopError


def run_command(
    inbox: Annotated[
        Path | None,
        typer.Option(
            "--inbox",
            help="Folder new exports arrive in; files whose content was loaded before are "
            "skipped (default ICPLOOP_INBOX; none: nothing is loaded).",
        ),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping file (YAML) for the inbox.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", "-p", help="A shipped mapping for the inbox.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Fit configuration (YAML; default the workspace's fit.yaml)."),
    ] = None,
    routing: Annotated[Path | None, typer.Option(help="Flag routing rules (YAML).")] = None,
    notices: Annotated[
        str | None,
        typer.Option(
            "--notices",
            help="Channel for notices of overdue steps: email or webhook (default: email when "
            "configured, else the webhook).",
        ),
    ] = None,
    today: DeadlineOption = None,
    wait: WaitOption = 0.0,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Run the daily loop once: load new files from the inbox, tag, deliver flags, update the
    watch list, check the micro-review trigger and the implementation clocks, send due notices.

    Safe to repeat: a run with nothing new does nothing. Two runs never overlap: a second one
    refuses at once (or waits up to --wait seconds)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from icploop.daily.run import STEPS, DailyOptions, run_daily
    from icploop.flags.routing import load_routing
    from icploop.ingest.mapping import load_mapping, load_preset

    with user_errors():
        if mapping is not None and preset is not None:
            raise IcploopError("give --mapping or --preset, not both")
        settings = settings_for(workspace)
        options = DailyOptions(
            inbox=inbox or settings.inbox,
            mapping=load_mapping(mapping) if mapping else load_preset(preset) if preset else None,
            fit_config=fit_config_of(workspace, config),
            routing=load_routing(routing),
            notice_channel=notices,
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=json,
        ) as bar:
            task = bar.add_task("daily run", total=len(STEPS))

            def progress(step: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=step)

            summary = run_daily(
                settings,
                options,
                today=today.date() if today else dt.date.today(),
                wait=wait,
                progress=progress,
                on_wait=lambda message: err_console.print(message, markup=False),
            )
        if json:
            print_json(summary.to_dict())
            return
        say = console.print
        say(f"daily run on {summary.today}, data as of {summary.as_of}", highlight=False)
        if summary.new_files:
            say(f"  loaded {len(summary.new_files)} new file(s) as load {summary.load_id}")
        elif options.inbox is not None:
            say(f"  no new file in {options.inbox}", markup=False, highlight=False)
        tagged = ", ".join(f"{n} {tag}" for tag, n in sorted(summary.tagged.items()))
        say(f"  tagged: {tagged or 'nobody new'}; flags raised: {len(summary.flags)}")
        sent = summary.deliveries
        say(
            f"  deliveries: {sent.get('delivered', 0)} delivered, {sent.get('retrying', 0)} "
            f"to retry, {sent.get('failed', 0)} failed, {sent.get('skipped', 0)} waiting "
            "for a channel"
        )
        say(f"  watch list: {summary.watch_added} added, {summary.watch_due} due for review")
        if summary.micro_review:
            say(
                f"  micro-review: cohort NRR dropped in {summary.micro_review}; the reduced pack "
                f"is in {Path(summary.micro_review_pack[0]).parent}",
                markup=False,
                highlight=False,
            )
        say(f"  notices of overdue steps sent: {len(summary.notices)}")
        if summary.icp_draft:
            say(f"  {summary.icp_draft.line()}", markup=False, highlight=False)
        for warning in summary.warnings:
            say(f"  note: {warning}", markup=False, highlight=False)
        if not summary.changed:
            say("nothing new: nothing was changed")


def register(app: typer.Typer) -> None:
    """Add ``icploop run`` to the root app."""
    app.command("run")(run_command)
