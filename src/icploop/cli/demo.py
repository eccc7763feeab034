"""``icploop demo``: the demo company with planted, known effects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from icploop.cli.common import command, console

demo_app = typer.Typer(
    name="demo",
    help="Generate the demo company (a realistic B2B SaaS business with known answers).",
    no_args_is_help=True,
)


@demo_app.command("generate")
@command
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    accounts: Annotated[
        int, typer.Option("--accounts", min=1, help="Number of customers (prospects come on top).")
    ] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same files.")] = 7,
    null: Annotated[
        bool,
        typer.Option("--null", help="Same shape, no planted effect (for false-positive checks)."),
    ] = False,
    usage_format: Annotated[
        str, typer.Option("--usage-format", help="csv or parquet (parquet for large companies).")
    ] = "csv",
    never_activated: Annotated[
        bool,
        typer.Option(
            "--never-activated",
            help="A variant with a ninth effect: customers on Dynamics CRM often win and never start.",
        ),
    ] = False,
    recent_attribute: Annotated[
        bool,
        typer.Option(
            "--recent-attribute",
            help="A variant with an extra column recorded only for the last 180 days of closes.",
        ),
    ] = False,
) -> None:
    """Write the canonical CSV files and truth.json of a demo company."""
    from icploop.demo.generator import generate_company
    from icploop.errors import IcploopError

    if usage_format not in ("csv", "parquet"):
        raise IcploopError(
            f"unknown usage format {usage_format!r}", hint="use --usage-format csv or parquet"
        )
    fmt: Literal["csv", "parquet"] = "parquet" if usage_format == "parquet" else "csv"
    with console.status("generating the demo company") as status:
        truth = generate_company(
            out,
            accounts=accounts,
            seed=seed,
            null=null,
            usage_format=fmt,
            progress=lambda msg: status.update(f"generating the demo company: {msg}"),
            never_activated=never_activated,
            recent_attribute=recent_attribute,
        )
    table = Table(title=f"demo company in {out}", show_lines=False)
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in truth["files"].items():
        table.add_row(name, f"{rows:,}")
    table.add_row("truth.json", f"{len(truth['effects'])} effects")
    console.print(table)
    kind = "null company (no planted effects)" if null else "planted effects listed in truth.json"
    console.print(
        f"{accounts:,} customers, {truth['prospects']:,} prospects, seed {seed}, "
        f"as of {truth['as_of']}; {kind}."
    )


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.add_typer(demo_app, name="demo")
