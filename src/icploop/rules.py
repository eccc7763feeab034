"""Criteria as data: testable rules over account attributes, compiled to Ibis expressions.

A rule is ``attribute op value`` with ``op`` one of ``== != < <= > >= in not_in``. Rules are how
the ICP document states its criteria (``seats_at_close >= 75``, ``industry in [...]``) and how
segment findings are phrased, so that both make the same binary call on any account. Attribute
names are checked against the table's columns and values are literals: user text never becomes SQL.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, field_validator

from icploop.errors import IcploopError

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


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
            return tuple(value)
        return value

    def describe(self) -> str:
        """The rule as a reader would write it, e.g. ``seats_at_close >= 75``."""
        if self.op in ("in", "not_in"):
            items = ", ".join(str(v) for v in self.value)
            return f"{self.attribute} {'in' if self.op == 'in' else 'not in'} [{items}]"
        return f"{self.attribute} {self.op} {self.value}"

    def to_expr(self, table: ir.Table) -> ir.BooleanValue:
        """The rule as a boolean column of ``table``; a missing attribute value counts as not met."""
        if self.attribute not in table.columns:
            raise IcploopError(
                f"criterion '{self.describe()}' names an attribute the accounts do not have",
                f"use one of: {', '.join(sorted(table.columns))}",
            )
        column = table[self.attribute]
        if self.op == "in":
            expr = column.isin(list(self.value))
        elif self.op == "not_in":
            expr = ~column.isin(list(self.value))
        else:
            expr = _COMPARE[self.op](column, ibis.literal(self.value))
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
