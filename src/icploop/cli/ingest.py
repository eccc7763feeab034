"""Commands of the ingest package (to be filled in)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
