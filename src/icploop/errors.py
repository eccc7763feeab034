"""The one family of errors meant for users.

Every error a user can cause (bad input, a missing workspace, an unknown option value) is an
``IcploopError`` with a message saying what is wrong and a hint saying what to do. Surfaces
(the CLI, the web app) render this family; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class IcploopError(Exception):
    """An error a user can act on: ``message`` says what is wrong, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class Problem:
    """One validation problem, located as precisely as the input allows.

    ``row`` is the line number in the file as a spreadsheet shows it (the header is line 1, the
    first data row line 2); ``None`` when the problem concerns the whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        got = "" if self.value is None else f": got {self.value!r}"
        return f"{where}{got}; expected {self.expected}"


@dataclass(frozen=True)
class ProblemGroup:
    """Problems with one cause: the same file, column and expectation.

    ``count`` is every row with this cause (not only those listed), ``first_row`` and
    ``last_row`` the span of their rows (None for problems of a whole file), ``examples`` a few
    of them."""

    file: str
    column: str | None
    expected: str
    count: int
    first_row: int | None
    last_row: int | None
    examples: tuple[Problem, ...]

    EXAMPLES = 3

    def __str__(self) -> str:
        if self.count == 1 and self.examples:
            return str(self.examples[0])
        where = self.file + (f", column '{self.column}'" if self.column else "")
        what = "rows" if self.first_row is not None else "problems"
        span = ""
        if self.first_row is not None:
            span = (
                f" (row {self.first_row})"
                if self.first_row == self.last_row
                else f" (rows {self.first_row}-{self.last_row})"
            )
        shown = [
            f"row {p.row}: got {p.value!r}" if p.row is not None else f"got {p.value!r}"
            for p in self.examples[: self.EXAMPLES]
            if p.value is not None
        ]
        examples = f"; e.g. {', '.join(shown)}" if shown else ""
        return f"{self.count:,} {what} in {where}: expected {self.expected}{span}{examples}"


Cause = tuple[str, str | None, str]
"""What a problem is about: its file, column and expectation."""
Extent = tuple[int, int | None, int | None]
"""How many rows a cause refuses in all, and the first and last of them."""


def group_problems(
    problems: list[Problem], extents: dict[Cause, Extent] | None = None
) -> list[ProblemGroup]:
    """The problems grouped by cause (file, column, expectation), largest group first.

    ``extents`` gives a cause's full count and row span when more rows were found than listed;
    without it, a group counts and spans the problems listed."""
    by_cause: dict[Cause, list[Problem]] = {}
    for p in dict.fromkeys(problems):  # one row refused by two entries is one problem
        by_cause.setdefault((p.file, p.column, p.expected), []).append(p)
    groups = []
    for (file, column, expected), listed in by_cause.items():
        rows = [p.row for p in listed if p.row is not None]
        count, first, last = len(listed), min(rows, default=None), max(rows, default=None)
        known = (extents or {}).get((file, column, expected))
        if known is not None and known[0] >= count:
            count, first, last = known
        examples = tuple(sorted(listed, key=lambda p: p.row or 0)[: ProblemGroup.EXAMPLES])
        groups.append(ProblemGroup(file, column, expected, count, first, last, examples))
    return sorted(groups, key=lambda g: (-g.count, g.file, g.first_row or 0))


@dataclass
class ValidationError(IcploopError):
    """Every problem found in one load, raised once; nothing was stored.

    ``problems`` are the problems listed (capped); the message groups them by cause, with the
    full count and row span of each cause where ``extents`` gives them, and says how many more
    (``truncated``) were found but not listed."""

    problems: list[Problem] = field(default_factory=list)
    truncated: int = 0

    def __init__(
        self,
        problems: list[Problem],
        truncated: int = 0,
        hint: str = "",
        extents: dict[Cause, Extent] | None = None,
    ) -> None:
        self.problems = list(problems)
        self.truncated = truncated
        self.groups = group_problems(self.problems, extents)
        files = sorted({p.file for p in self.problems})
        counted = sum(g.count for g in self.groups)
        total = max(counted, len(self.problems) + truncated)
        head = f"{total:,} problem(s) in {', '.join(files)}; nothing was loaded"
        lines = [head, *(f"  - {g}" for g in self.groups)]
        if total > counted:
            lines.append(f"  ... and {total - counted:,} more")
        super().__init__(
            "\n".join(lines),
            hint or "Fix the rows listed (or the mapping file) and run the same load again.",
        )
