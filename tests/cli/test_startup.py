"""Start-up: ``icploop --help`` and ``--version`` import no heavy library, and the command index
that makes this possible says what the command modules register (names and help lines).

Start-up time itself is measured in ``bench/bench_startup.py``; these tests check the cause
(which modules a fresh interpreter imports), which does not depend on the machine's load.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from icploop.cli.main import COMMANDS, module_commands

# libraries that take a noticeable share of a second (or more) to import, and the icploop
# modules that pull them in
HEAVY = (
    "ibis",
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "sklearn",
    "lifelines",
    "matplotlib",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "pydantic",
    "jinja2",
    "fpdf",
    "icploop.config",
    "icploop.engine",
    "icploop.cli.common",
)

PROBE = """
import json, sys
from icploop.cli.main import app
try:
    app(sys.argv[1:], prog_name="icploop")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``icploop ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    modules = imported_by(*args)
    assert "typer" in modules  # the probe ran the command line
    assert heavy_in(modules) == []


def test_a_command_imports_only_its_own_module() -> None:
    modules = imported_by("demo", "--help")
    assert "icploop.cli.demo" in modules
    others = {f"icploop.cli.{module}" for module, _ in COMMANDS.values()} - {"icploop.cli.demo"}
    assert modules & others == set()
    # generating and loading the demo needs neither the web app nor the survival, model and
    # chart libraries, which the full command line used to import for every command
    assert {"fastapi", "lifelines", "sklearn", "matplotlib"} & modules == set()


def first_paragraph(text: str) -> str:
    """The line Typer shows for a command in its group's help (first paragraph, one line)."""
    return inspect.cleandoc(text).split("\n\n")[0].replace("\n", " ").strip()


def test_the_command_index_matches_what_the_modules_register() -> None:
    registered: dict[str, str] = {}
    for module in {module for module, _ in COMMANDS.values()}:
        for name, command in module_commands(module).items():
            assert name not in registered, f"{name} is registered by two modules"
            registered[name] = first_paragraph(command.short_help or command.help or "")
    indexed = {name: line for name, (_, line) in COMMANDS.items()}
    assert indexed == registered
