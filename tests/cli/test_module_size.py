"""Command modules stay small: each parses options and prints, and the analysis lives in its
domain package, so no module of ``icploop.cli`` runs over 300 lines."""

from __future__ import annotations

from pathlib import Path

import icploop.cli

LIMIT = 300


def test_no_command_module_is_over_the_limit() -> None:
    folder = Path(icploop.cli.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in sorted(folder.glob("*.py"))}
    assert len(sizes) > 10  # the folder was found and read
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
