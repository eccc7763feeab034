"""The ``icploop`` command."""

from __future__ import annotations

import typer

from icploop import __version__

app = typer.Typer(
    name="icploop",
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


def _register() -> None:
    # Sub-apps register themselves here; each lives in its own module of this package.
    from icploop.cli import (
        alignment,
        demo,
        demo_run,
        fit,
        flags,
        icp,
        ingest,
        lifetimes,
        metrics,
        reasons,
        review,
        scoring,
        segments,
        web,
    )

    del demo_run  # registers `demo run` on the demo sub-app when imported
    ingest.register(app)
    demo.register(app)
    metrics.register(app)
    fit.register(app)
    flags.register(app)
    icp.register(app)
    segments.register(app)
    lifetimes.register(app)
    scoring.register(app)
    reasons.register(app)
    review.register(app)
    web.register(app)
    alignment.register(app)


_register()
