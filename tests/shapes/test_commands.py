"""Every command on every data shape answers, or refuses in one line: never a traceback, never
"nan" where the truth is unknown, never a figure from a table the shape does not have.

The commands come from the Typer app itself: a new command with no required argument joins the
suite by itself; one with required arguments fails here until ``ARGUMENTS`` says what to pass
(or why it is not run on a shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from icploop.cli.main import COMMANDS, module_commands
from icploop.config import Settings
from icploop.generations import open_analytics

from .conftest import SHAPES, Shape, invoke

#: commands not run on the shapes, and why
NOT_RUN = {
    "init": "writes the workspace's settings (the loads of every shape go through it)",
    "load": "every shape is loaded through it (its output is checked in test_load)",
    "demo generate": "writes the demo company, reads no workspace",
    "demo run": "generates and loads its own demo company",
    "map suggest": "reads an export file, no workspace",
    "serve": "serves until stopped (the web pages are checked in test_web)",
    "retention project": "reads its survivors from the command line, no workspace",
    "whatif spend": "reads every figure from the command line, no workspace",
}

#: arguments of commands that need some, with placeholders filled per shape: {account} an
#: account of the shape, {accounts_csv} a CSV of some of its accounts, {out} a fresh folder
ARGUMENTS: dict[str, list[str]] = {
    "fit show": ["{account}"],
    "watch history": ["{account}"],
    "fit check": [
        "{account}",
        "--as",
        "shapes@example.test",
        "--use-case-in-use",
        "--champion-same-role",
        "--no-competitor",
    ],
    "score": ["{accounts_csv}", "--out", "{out}/scored.csv"],
    "review build": ["--out", "{out}", "--format", "html,md,json"],
    "reasons test": ["support"],
    "icp show": ["1"],
    "icp signoff": ["1"],
    "icp diff": ["1", "2"],
    "icp signers": ["sales"],
    "flags show": ["1"],
    "experiment show": ["missing-experiment"],
    "user tokens": ["nobody@example.test"],
}

#: commands that change what others read (run after the readers of a shape): none read here
#: needs a person or writes on another's behalf; these are left to their own tests
WRITERS = {
    "fit override", "flags edit", "flags requeue", "flags send", "flags state",
    "watch review", "watch snooze", "icp answer", "icp approve",
    "icp delete", "icp export", "icp import", "icp object", "icp publish", "icp step",
    "review decide", "experiment add", "experiment delete", "experiment stop", "user add",
    "user revoke", "user token",
}  # fmt: skip

#: the shapes run by ``make test`` (every command on each); the others are the full matrix
CUT = ("history-9", "no-usage", "telco")
#: shapes whose load is refused, as it should be: currencies without their fx rates (numbers
#: written with thousands separators, "1,295", are read as numbers: that shape answers)
REFUSED = frozenset({"no-fx_rates"})

NAN = re.compile(r"\b(nan|NaN|Infinity)\b")
#: figures that only a table could give, by the labels they are printed under: printed without
#: the table, they come from nothing. A label, not a figure: a true count of 0 ("0 (0%)" near
#: fit in a segment) is no sign of a cost table, and whether such a count shows depends on what
#: ran before on the shape's workspace (fit run tags accounts)
FROM_ABSENT = {"costs": re.compile(r"cost over margin|unprofitable", re.IGNORECASE)}


def _leaves(name: str, command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    if hasattr(command, "commands"):
        for sub, child in sorted(command.commands.items()):
            yield from _leaves(sub, child, (*path, sub))
    else:
        yield " ".join(path), command


def all_commands() -> dict[str, Any]:
    """Every leaf command of the ``icploop`` app, by its words (``fit run``)."""
    found: dict[str, Any] = {}
    for name, (module, _) in COMMANDS.items():
        found.update(_leaves(name, module_commands(module)[name], (name,)))
    return found


def runnable() -> list[str]:
    return sorted(set(all_commands()) - set(NOT_RUN) - WRITERS)


def test_every_command_is_run_or_says_why_not() -> None:
    commands = all_commands()
    for words in sorted(set(NOT_RUN) | WRITERS | set(ARGUMENTS)):
        assert words in commands, f"{words!r} is listed here but is no longer a command"
    for words in runnable():
        required = [p.name for p in commands[words].params if p.required]
        assert not required or words in ARGUMENTS, (
            f"{words!r} needs {required}: say in ARGUMENTS what to pass, or in NOT_RUN why not"
        )


def problems(
    code: int, out: str, err: str, exception: BaseException | None, absent: frozenset[str]
) -> list[str]:
    """What is wrong with one command's answer (nothing when it answered or refused well).
    With tables ``absent``, a figure only they could give is one computed from nothing."""
    found = []
    if exception is not None:
        import traceback

        found.append("traceback:\n" + "".join(traceback.format_exception(exception)))
    if code not in (0, 1):
        found.append(f"exit code {code}")
    text = out + err
    if "Traceback" in text:
        found.append("a traceback is printed")
    if hit := NAN.search(text):
        start = max(0, hit.start() - 120)
        found.append(f"'{hit.group()}' printed: ...{text[start : hit.end() + 40]}...")
    for table, label in FROM_ABSENT.items():
        if table in absent and (figure := label.search(text)):
            found.append(f"{figure.group()!r} printed without a {table} table")
    if code == 1:
        said = [
            line
            for line in err.splitlines()
            # a load's refusal lists its causes, one indented line each, under its one error line
            if line.strip() and not line.startswith(("caveat:", "note:", "waiting", "  - "))
        ]
        errors = [line for line in said if line.startswith("error:")]
        hints = [line for line in said if line.startswith("hint:")]
        if len(errors) != 1 or len(hints) > 1 or len(said) != len(errors) + len(hints):
            found.append("the refusal is not one line (and a hint):\n" + err)
    return found


def test_a_true_zero_count_is_no_figure_from_an_absent_table() -> None:
    """Without costs, a segment's count of 0 near fits is a count, not a cost; the cost table's
    "cost over margin" column (or the cost command's unprofitable accounts) is a cost figure."""
    no_costs = frozenset({"costs"})
    tags = "| Enterprise | 3 | 2 (67%) | 0 (0%) | 1 (33%) |"
    costs = "| tier | accounts | cost over margin |\n| high | 4 | 0 (0%) |"
    assert problems(0, tags, "", None, no_costs) == []
    assert problems(0, costs, "", None, no_costs) == [
        "'cost over margin' printed without a costs table"
    ]
    assert problems(0, costs, "", None, frozenset()) == []
    assert problems(0, '{"unprofitable_share": 0.0}', "", None, no_costs) != []


def _fill(args: list[str], shape: Shape, out: Path) -> list[str]:
    values = {"out": str(out)}
    if any("{account" in a for a in args):
        backend = open_analytics(Settings(workspace=shape.workspace))
        try:
            # a shape whose load was refused has no accounts: commands get an id nobody has
            accounts = (
                backend.table("accounts").order_by("account_id").limit(20).to_pandas()
                if "accounts" in backend.list_tables()
                else pd.DataFrame({"account_id": ["no-such-account"]})
            )
        finally:
            backend.disconnect()
        accounts.to_csv(out / "accounts.csv", index=False)
        values |= {"account": accounts["account_id"][0], "accounts_csv": str(out / "accounts.csv")}
    return [a.format(**values) for a in args]


def _cases() -> list[Any]:
    cases = []
    for shape in SHAPES:
        marks = [] if shape in CUT else [pytest.mark.matrix]
        for words in runnable():
            cases.append(pytest.param(shape, words, marks=marks, id=f"{shape}:{words}"))
    return cases


@pytest.mark.parametrize(
    "shape", [pytest.param(s, marks=[] if s in CUT else [pytest.mark.matrix]) for s in SHAPES]
)
def test_load(shapes: Callable[[str], Shape], shape: str) -> None:
    loaded = shapes(shape)
    # a shape the load must refuse is refused, naming the cause; every other shape loads
    assert (loaded.load_exit == 1) == (shape in REFUSED), loaded.load_output
    assert not problems(loaded.load_exit, "", loaded.load_output, None, loaded.absent), (
        loaded.load_output
    )


@pytest.mark.parametrize(("shape", "words"), _cases())
def test_command(shapes: Callable[[str], Shape], shape: str, words: str, tmp_path: Path) -> None:
    loaded = shapes(shape)
    command = all_commands()[words]
    opts = {o for p in command.params for o in getattr(p, "opts", ())}
    args = [*words.split(), *_fill(ARGUMENTS.get(words, []), loaded, tmp_path)]
    args += ["--workspace", str(loaded.workspace)]
    for json_output in [False, True] if "--json" in opts else [False]:
        code, out, err, exception = invoke(*args, *(["--json"] if json_output else []))
        found = problems(code, out, err, exception, loaded.absent)
        assert not found, (
            f"icploop {' '.join(args)}{' --json' if json_output else ''}:\n" + "\n".join(found)
        )
    for written in tmp_path.glob("*"):
        if written.suffix in (".md", ".html", ".json", ".csv"):
            text = written.read_text(encoding="utf-8")
            found = problems(0, text, "", None, loaded.absent)
            assert not found, f"{written.name} of icploop {' '.join(args)}:\n" + "\n".join(found)


def test_every_command_refuses_a_missing_workspace_and_leaves_no_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-workspace"
    commands = all_commands()
    checked = []
    for words in runnable():
        if "--workspace" not in {o for p in commands[words].params for o in getattr(p, "opts", ())}:
            continue
        args = [a.replace("{out}", str(tmp_path)) for a in ARGUMENTS.get(words, [])]
        if any("{account" in a for a in args):
            args = [a.replace("{account}", "A1").replace("{accounts_csv}", "x.csv") for a in args]
        code, out, err, exception = invoke(*words.split(), *args, "--workspace", str(missing))
        found = problems(code, out, err, exception, frozenset())
        assert not found, f"icploop {words} on a missing workspace:\n" + "\n".join(found)
        # the commands that read the app store alone refuse too, rather than make an empty one
        assert code == 1 and not missing.exists(), f"icploop {words} on a missing workspace"
        checked.append(words)
    assert {"icp list", "icp status", "fit list", "watch list", "flags list"} <= set(checked)
