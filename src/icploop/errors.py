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


@dataclass
class ValidationError(IcploopError):
    """Every problem found in one load, raised once; nothing was stored."""

    problems: list[Problem] = field(default_factory=list)
    truncated: int = 0

    def __init__(self, problems: list[Problem], truncated: int = 0, hint: str = "") -> None:
        self.problems = list(problems)
        self.truncated = truncated
        files = sorted({p.file for p in self.problems})
        head = (
            f"{len(self.problems) + truncated} problem(s) in {', '.join(files)}; nothing was loaded"
        )
        lines = [head, *(f"  - {p}" for p in self.problems)]
        if truncated:
            lines.append(f"  ... and {truncated} more")
        super().__init__(
            "\n".join(lines),
            hint or "Fix the rows listed (or the mapping file) and run the same load again.",
        )
