"""Criteria as data: testable rules over account attributes, compiled to Ibis expressions.

A rule is ``attribute op value`` with ``op`` one of ``== != < <= > >= in not_in``. Rules are how
the ICP document states its criteria (``seats_at_close >= 75``, ``industry in [...]``) and how
segment findings are phrased, so that both make the same binary call on any account. Attribute
names are checked against the table's columns and values are literals: user text never becomes SQL.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from icploop.errors import IcploopError

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]
#: what a rule's value is compared as: the kind of the column it names
Kind = Literal["number", "text", "date", "bool"]
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

#: what a rule's value (or each value of its list) may not be: a list or mapping in itself
_CONTAINERS = (list, tuple, set, frozenset, dict)


class Rule(BaseModel):
    """One criterion: ``attribute op value``, with why it is there and where the evidence is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str
    op: Op
    value: Any
    name: str = ""
    rationale: str = ""
    evidence: str = ""

    @field_validator("value")
    @classmethod
    def _lists_for_membership(cls, value: Any, info: Any) -> Any:
        if info.data.get("op") in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value:
                raise ValueError("'in' and 'not_in' need a non-empty list of values")
            if any(isinstance(v, _CONTAINERS) for v in value):
                raise ValueError("the list of an 'in' or 'not_in' rule holds single values")
            return tuple(value)
        if isinstance(value, _CONTAINERS):
            raise ValueError("a rule compares with one value (a list only with in / not_in)")
        return value

    def describe(self) -> str:
        """The rule as a reader would write it, e.g. ``seats_at_close >= 75``."""
        if self.op in ("in", "not_in"):
            items = ", ".join(str(v) for v in self.value)
            return f"{self.attribute} {'in' if self.op == 'in' else 'not in'} [{items}]"
        return f"{self.attribute} {self.op} {self.value}"

    def problem(self, kinds: Mapping[str, Kind]) -> str | None:
        """Why this rule cannot be judged on columns of these kinds (None: it can): the
        attribute must be one of them and every value must compare with the column's kind
        (a number or numeric text for numbers, an ISO date for dates, true/false for flags)."""
        kind = kinds.get(self.attribute)
        if kind is None:
            return f"'{self.describe()}': there is no attribute {self.attribute!r}"
        if kind == "bool" and self.op not in ("==", "!=", "in", "not_in"):
            return f"'{self.describe()}': {self.attribute} is yes/no, so only == and != apply"
        values = self.value if self.op in ("in", "not_in") else (self.value,)
        for value in values:
            if not _compares(value, kind):
                return (
                    f"'{self.describe()}': {self.attribute} holds {_KIND_TEXT[kind]}, "
                    f"and {value!r} is not one"
                )
        return None

    def to_expr(self, table: ir.Table) -> ir.BooleanValue:
        """The rule as a boolean column of ``table``; a missing attribute value counts as not met.
        An IcploopError names a rule the table's columns cannot judge (see :meth:`problem`)."""
        problem = self.problem(schema_kinds(table.schema()))
        if problem is not None:
            raise IcploopError(
                f"criterion {problem}", f"use one of: {', '.join(sorted(table.columns))}"
            )
        column = table[self.attribute]
        dtype = column.type()
        if self.op == "in":
            expr = column.isin([_as_kind(v, dtype) for v in self.value])
        elif self.op == "not_in":
            expr = ~column.isin([_as_kind(v, dtype) for v in self.value])
        else:
            expr = _COMPARE[self.op](column, ibis.literal(_as_kind(self.value, dtype)))
        return expr.fill_null(False)

    def holds(self, value: Any) -> bool:
        """The same call on one Python value (None never meets a criterion)."""
        if value is None:
            return False
        if self.op == "in":
            return value in self.value
        if self.op == "not_in":
            return value not in self.value
        return bool(_COMPARE[self.op](value, self.value))


def all_hold(table: ir.Table, rules: Sequence[Rule]) -> ir.BooleanValue:
    """True where every rule holds (True for no rules)."""
    expr: ir.BooleanValue = ibis.literal(True)
    for rule in rules:
        expr = expr & rule.to_expr(table)
    return expr


_KIND_TEXT: dict[str, str] = {
    "number": "numbers",
    "text": "text",
    "date": "dates (YYYY-MM-DD)",
    "bool": "yes/no values",
}
_BOOL_TEXT = {"true", "false", "yes", "no"}


def _compares(value: Any, kind: Kind) -> bool:
    """Whether ``value`` can be compared with a column of ``kind`` (see :meth:`Rule.problem`)."""
    if value is None:
        return False
    if kind == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    if kind == "date":
        if isinstance(value, dt.date):
            return True
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return False
        return True
    if kind == "bool":
        return isinstance(value, bool) or str(value).strip().lower() in _BOOL_TEXT
    return isinstance(value, str | int | float | bool | dt.date)


def _as_kind(value: Any, dtype: dt_types.DataType) -> Any:
    """A rule value as the column's type for an engine literal (numeric text as a number, an
    ISO date as a date), once :meth:`Rule.problem` has accepted it."""
    if dtype.is_boolean() and isinstance(value, str):
        return value.strip().lower() in ("true", "yes")
    if dtype.is_numeric() and isinstance(value, str):
        return float(value)
    if (dtype.is_date() or dtype.is_timestamp()) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if dtype.is_string() and not isinstance(value, str):
        return as_text(value)
    return value


def as_text(value: Any) -> str:
    """A non-text rule value as the text a text column would hold (75.0 -> "75")."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def schema_kinds(schema: Any) -> dict[str, Kind]:
    """The kind of every column of an Ibis schema (lists and other types count as text)."""
    out: dict[str, Kind] = {}
    for name, dtype in schema.items():
        if dtype.is_boolean():
            out[name] = "bool"
        elif dtype.is_numeric():
            out[name] = "number"
        elif dtype.is_date() or dtype.is_timestamp():
            out[name] = "date"
        else:
            out[name] = "text"
    return out


def frame_kinds(frame: pd.DataFrame) -> dict[str, Kind]:
    """The kind of every column of a frame; object columns holding dates count as dates."""
    out: dict[str, Kind] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[str(name)] = "bool"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[str(name)] = "number"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            out[str(name)] = "date"
        else:
            sample = frame[name].dropna()
            first = sample.iloc[0] if not sample.empty else None
            out[str(name)] = "date" if isinstance(first, dt.date) else "text"
    return out


def check_rules(rules: Sequence[Rule], kinds: Mapping[str, Kind], what: str) -> None:
    """Refuse rules that cannot be judged on columns of ``kinds``: one IcploopError naming
    every such rule; ``what`` says where they come from ("the experiment's segment")."""
    problems = [p for rule in rules if (p := rule.problem(kinds)) is not None]
    if problems:
        raise IcploopError(
            f"{what} cannot be judged on this data: " + "; ".join(problems),
            f"attributes available: {', '.join(sorted(kinds))}",
        )
