"""The ``icploop`` command.

Each command's module is imported only when that command runs (or shows its own help): the
analytics, web and statistics libraries behind the commands take seconds to import, and
``icploop --help``, ``--version`` or one command should not pay for all of them. The index below
names every top-level command, the module that registers it and the line ``--help`` shows; a
test checks it against what the modules register.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from icploop import __version__

# command -> (module of icploop.cli that registers it, its line in ``icploop --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "ingest",
        "Create a workspace (or change its settings) and record its reporting currency.",
    ),
    "load": (
        "ingest",
        "Validate files (or another database's tables) and load them, all or nothing (or, with "
        "--max-rejects, all but the refused rows, which are written to --rejects).",
    ),
    "status": (
        "status",
        "Show each table's row count and date range, the history of loads, and where the data "
        "ends (the default as-of date of every command).",
    ),
    "map": ("ingest", "Mapping files: how an export's columns land on the canonical model."),
    "demo": (
        "demo",
        "Generate the demo company (a realistic B2B SaaS business with known answers).",
    ),
    "metrics": (
        "metrics",
        "Headline MRR, NRR, GRR, logo churn and quick ratio, and breakdowns with group sizes.",
    ),
    "retention": ("metrics", "Retention projections."),
    "segments": (
        "segments",
        "Segments that retain, grow and adopt (and those that churn), each with its evidence.",
    ),
    "survival": (
        "lifetimes",
        "Kaplan-Meier survival by segment with the median and a log-rank test (and Cox hazard "
        "ratios with --cox).",
    ),
    "ltv": (
        "lifetimes",
        "Lifetime value by segment: the sBG model fitted to each segment's cohorts of this "
        "workspace, its discounted expected lifetime (DEL) and residual value (DERL).",
    ),
    "champions": (
        "lifetimes",
        "Churn after a champion leaves, against comparable accounts (same close cohort and "
        "tenure, no departure yet), with Kaplan-Meier intervals.",
    ),
    "fit": ("fit", "The 90-day fit tag: run, show, list, override, quick check, watch list."),
    "flags": ("flags", "Bad-fit flags: list, show, edit, send, triage, deliver, stuck deliveries."),
    "watch": ("watch", "The 180-day watch list: list, mark reviewed, snooze, history."),
    "icp": ("icp", "The ICP document: versions, diff, YAML, publish, implementation steps."),
    "model": ("model", "The fit model trained on retention: train, report, points table."),
    "score": (
        "scoring",
        "Score a CSV: fit score, tier, points and top reasons; open deals also get the fit check.",
    ),
    "deals": ("scoring", "Deal-time fit checks of open opportunities."),
    "forecast": ("forecast", "Forecasts from the fit mix."),
    "whatif": ("forecast", "What a change in the fit mix or in retention is worth."),
    "reasons": (
        "reasons",
        "Churn reasons from evidence: the Pareto table, hypothesis checks, returning objections.",
    ),
    "cost": (
        "cost",
        "Cost to serve against gross margin by tier and segment, and the accounts to move to a "
        "lower-touch tier.",
    ),
    "review": ("review", "The quarterly ICP review: evidence pack, proposals, decisions."),
    "scorecard": (
        "alignment",
        "Bookings next to retained bookings (MRR 12 months later) per AE, lead source or "
        "campaign, ranked both ways with the gap; young cohorts projected from their fit-tag mix.",
    ),
    "experiment": (
        "alignment",
        "GTM experiments on segments: record, list, measure, stop, delete.",
    ),
    "run": (
        "daily",
        "Run the daily loop once: load new files from the inbox, tag, deliver flags, update the "
        "watch list, check the micro-review trigger and the implementation clocks, send due "
        "notices.",
    ),
    "serve": ("web", "Serve the web app and the REST API over the workspace."),
    "user": ("web", "Web users: add or update a user; make, list and revoke API tokens."),
}

# modules imported beside the one that registers, because they add commands to its sub-apps
_COMPANIONS: dict[str, tuple[str, ...]] = {"demo": ("demo_run",)}
# command groups whose commands several modules hold: each further module's ``extend(group)``
# adds its commands to the group its first module registers (the modules stay independent)
_EXTENSIONS: dict[str, tuple[str, ...]] = {"icp": ("icp_signoff", "icp_outcomes")}

# module -> its commands as Click commands, once imported and registered
_loaded: dict[str, dict[str, Any]] = {}


def module_commands(module: str) -> dict[str, Any]:
    """The Click commands that ``icploop.cli.<module>`` registers, by name (imported once)."""
    if module not in _loaded:
        mod = importlib.import_module(f"icploop.cli.{module}")
        for companion in _COMPANIONS.get(module, ()):
            importlib.import_module(f"icploop.cli.{companion}")
        holder = typer.Typer()
        # a callback makes Typer build a group even when the module registers one command
        holder.callback()(lambda: None)
        mod.register(holder)
        for extension in _EXTENSIONS.get(module, ()):
            sub_app = next(g for g in holder.registered_groups if g.name == module).typer_instance
            assert sub_app is not None
            importlib.import_module(f"icploop.cli.{extension}").extend(sub_app)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        _loaded[module] = dict(group.commands)
    return _loaded[module]


class LazyGroup(TyperGroup):
    """The top-level group: commands come from the index and are imported when resolved.

    Until then each command is a placeholder carrying its line of the index: enough for
    ``icploop --help`` and for suggesting a command name after a typo, without importing any
    command module.
    """

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, line) in COMMANDS.items():
            self.commands[name] = TyperCommand(name=name, help=line)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS or self._listing:
            return self.commands.get(cmd_name)
        return module_commands(COMMANDS[cmd_name][0])[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="icploop",
    cls=LazyGroup,
    help="Build the Ideal Customer Profile from who stays, grows and adopts.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"icploop {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """icploop: retention analytics and the ICP refinement loop for B2B SaaS revenue teams."""
