"""Mapping files: how a source export's files, columns and values land on the canonical model.

A mapping is YAML parsed into strict pydantic models (unknown keys are errors). Example::

    encoding: utf-8            # or latin-1; default UTF-8 with or without BOM
    delimiter: ","
    tables:
      - table: deals
        files: "*deals*.csv"   # a glob (or a list of globs) matched against file names
        drop_if_blank: [account_id]   # rows dropped here are counted and reported
        columns:
          deal_id: "Record ID"                       # a plain source column
          outcome: {column: "Deal Stage", values: {"Closed Won": won, "Closed Lost": lost},
                    default: open}
          amount: {column: "Amount", multiply_by: 12}
          close_date: {column: "Close Date", date_format: "%m/%d/%Y"}
          currency: {constant: USD}

A table entry can also bring columns in from another file of the load by key (``lookup``, a
left join), keep only the rows that meet simple comparisons (``where``), and read revenue rows
that are one month each (``grain: month``)::

    tables:
      - table: deals
        files: deals.csv
        lookup:
          - file: "*leads*.csv"      # another file of the load, read only for this
            key: lead_id             # the column of deals.csv ...
            on: mql_id               # ... matched to this column of the leads file
            columns: {lead_origin: origin, first_contact: first_contact_date}
            required: true           # a deal whose lead_id is not found is a problem
        where:
          status: won                # equals (text)
          won_date: {">=": 2018-01-01}   # numbers and dates compare as such
          business_segment: {in: [health_beauty, pet]}
          seller_id: {blank: false}

``where`` keys are source columns (or looked-up ones); each value is a scalar (equality) or one
operator of ``== != < <= > >= in not_in blank``. Conditions are all required (AND). Nothing in
a mapping is evaluated as code: operators are a closed list and values are bound parameters.

Column transforms are a small closed set applied in this order (after ``fallback``, a second
source column used where the first is blank): ``values`` (a value map; present values it does
not list become ``otherwise`` when given, else pass through), ``months_before`` (the column
holds a number of months; the result is that many months before the given anchor date),
``date_format`` (strptime format, or ``unix`` for epoch seconds), ``add_days`` (days added to a
date), ``multiply_by`` / ``divide_by`` (one factor or a list: a number, a source column, or a
source column through a value map), ``split`` (a list separator turned into ``;``), ``only_if``
(``where``-style conditions; blank unless they hold), ``default`` (used when the result is
blank). ``grain: event`` (usage) counts one-event-per-row files into usage rows per account, day
and feature, with ``user`` naming the column whose distinct values are the active users. ``extra: keep`` on an accounts entry
keeps every unmapped source column as an attribute in ``account_attributes``. ``role:`` on an
accounts or deals entry sets attribute roles (``{Churn: label, zip: identifier}``, keyed by a
canonical column or a source column), overriding the schema's and the inferred ones.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from icploop.errors import IcploopError
from icploop.ingest.schema import LOADABLE_TABLES, TABLES, AttributeRole
from icploop.safe_yaml import YamlDocument, parse_yaml, read_yaml, validate

Scalar = str | int | float | bool | date | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


WhereOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "blank"]


class Condition(_Strict):
    """One ``where`` comparison on a source column: ``column op value``."""

    column: str
    op: WhereOp
    value: Scalar | tuple[Scalar, ...]

    def describe(self) -> str:
        if self.op == "blank":
            return f"{self.column} is {'' if self.value else 'not '}blank"
        return f"{self.column} {self.op.replace('_', ' ')} {self.value}"


def _conditions(v: Any) -> Any:
    """``{col: scalar}`` and ``{col: {op: value}}`` as Condition data (strictly: one operator)."""
    if not isinstance(v, dict):
        raise ValueError("where is a map of source column to a value or {operator: value}")
    out = []
    for column, test in v.items():
        if isinstance(test, dict):
            if len(test) != 1:
                raise ValueError(f"where {column!r}: give exactly one operator, e.g. {{'>=': 10}}")
            ((op, value),) = test.items()
        else:
            op, value = "==", test
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"where {column!r}: {op} needs a non-empty list")
            value = tuple(value)
        elif isinstance(value, list | dict):
            raise ValueError(f"where {column!r}: {op} compares with one value, not a list")
        if op == "blank" and not isinstance(value, bool):
            raise ValueError(f"where {column!r}: blank takes true or false")
        out.append({"column": str(column), "op": op, "value": value})
    return out


class MappedFactor(_Strict):
    """A factor read from a source column through a value map, e.g. an interval name as months."""

    column: str
    values: dict[str, float]


Factor = float | str | MappedFactor
"""A number, a source column holding a number, or a source column through a value map."""


def _factors(v: Any) -> Any:
    return None if v is None else v if isinstance(v, list) else [v]


class ColumnSpec(_Strict):
    """Where one canonical column comes from and the transforms applied to it."""

    column: str | None = None
    constant: Scalar = None
    fallback: str | None = None
    only_if: list[Condition] = Field(default_factory=list)
    values: dict[str, Scalar] | None = None
    otherwise: Scalar = None
    months_before: date | None = None
    date_format: str | None = None
    add_days: int | None = None
    multiply_by: list[Factor] | None = None
    divide_by: list[Factor] | None = None
    split: str | None = None
    default: Scalar = None

    @field_validator("multiply_by", "divide_by", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return _factors(v)

    @field_validator("only_if", mode="before")
    @classmethod
    def _only_if(cls, v: Any) -> Any:
        return v if isinstance(v, list) else _conditions(v)

    def source_columns(self) -> list[str]:
        """Every source column this spec reads (its column, fallback, conditions, factors)."""
        names = [self.column, self.fallback, *(c.column for c in self.only_if)]
        for f in [*(self.multiply_by or []), *(self.divide_by or [])]:
            names.append(
                f if isinstance(f, str) else f.column if isinstance(f, MappedFactor) else None
            )
        return [n for n in names if n is not None]

    @model_validator(mode="after")
    def _one_source(self) -> ColumnSpec:
        if (self.column is None) == (self.constant is None):
            raise ValueError("give exactly one of 'column' (a source column) or 'constant'")
        if any(isinstance(f, float | int) and f == 0 for f in self.divide_by or []):
            raise ValueError("divide_by must not be 0")
        if self.fallback is not None and self.column is None:
            raise ValueError("'fallback' goes with a 'column'")
        if self.otherwise is not None and not self.values:
            raise ValueError("'otherwise' goes with a 'values' map")
        if self.split == "":
            raise ValueError("split needs a separator")
        return self


class Lookup(_Strict):
    """Columns brought in from another file of the load by key (a left join)."""

    file: str
    key: str
    on: str | None = None
    columns: dict[str, str]
    required: bool = False

    @field_validator("columns", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        # a list keeps the looked-up file's names; a map renames (new name: its column)
        return {str(c): str(c) for c in v} if isinstance(v, list) else v

    @model_validator(mode="after")
    def _some(self) -> Lookup:
        if not self.columns:
            raise ValueError("a lookup brings in at least one column")
        return self

    @property
    def target(self) -> str:
        """The looked-up file's key column (``on``, else the same name as ``key``)."""
        return self.on or self.key


class TableMapping(_Strict):
    """One canonical table filled from the files matching ``files``."""

    table: str
    files: list[str]
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    drop_if_blank: list[str] = Field(default_factory=list)
    extra: Literal["keep", "ignore"] = "ignore"
    role: dict[str, AttributeRole] = Field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    lookup: list[Lookup] = Field(default_factory=list)
    where: list[Condition] = Field(default_factory=list)
    grain: Literal["period", "month", "event"] = "period"
    user: str | None = None

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, v: Any) -> Any:
        return v if isinstance(v, list) else _conditions(v)

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("columns", mode="before")
    @classmethod
    def _plain_names(cls, v: Any) -> Any:
        # `account_id: "Record ID"` is shorthand for `account_id: {column: "Record ID"}`
        if isinstance(v, dict):
            return {k: {"column": s} if isinstance(s, str) else s for k, s in v.items()}
        return v

    @model_validator(mode="after")
    def _known_names(self) -> TableMapping:
        if self.table not in LOADABLE_TABLES:
            raise ValueError(
                f"unknown table {self.table!r}; expected one of {', '.join(LOADABLE_TABLES)}"
            )
        known = TABLES[self.table].column_names
        for name in [*self.columns, *self.drop_if_blank]:
            if name not in known:
                raise ValueError(
                    f"{self.table} has no column {name!r}; expected one of {', '.join(known)}"
                )
        if self.extra == "keep" and not TABLES[self.table].keeps_extra_columns:
            raise ValueError(f"extra: keep is only for accounts, not {self.table}")
        if self.grain == "event":
            if self.table != "usage":
                raise ValueError(f"grain: event is for usage, not {self.table}")
            counted = {"events", "active_users"} & set(self.columns)
            if counted:
                raise ValueError(
                    f"grain: event counts {' and '.join(sorted(counted))} itself: leave "
                    "them unmapped"
                )
        elif self.user is not None:
            raise ValueError("'user' (the column naming who did an event) goes with grain: event")
        if self.grain == "month":
            if self.table != "subscriptions":
                raise ValueError(f"grain: month is for subscriptions, not {self.table}")
            if "period_end" in self.columns:
                raise ValueError(
                    "grain: month ends each row with its month: leave period_end unmapped"
                )
        if self.role and self.table not in ("accounts", "deals"):
            raise ValueError(f"role: is only for accounts and deals, not {self.table}")
        return self


class Mapping(_Strict):
    """A whole mapping file: file-level reading options and one entry per source."""

    encoding: str = "utf-8"
    delimiter: str = ","
    description: str = ""
    tables: list[TableMapping]

    def encoding_for(self, entry: TableMapping) -> str:
        return entry.encoding or self.encoding

    def delimiter_for(self, entry: TableMapping) -> str:
        return entry.delimiter or self.delimiter


_HINT = "see docs/data-model.md, 'Mapping files', for the keys a mapping accepts"


def _validated(doc: YamlDocument) -> Mapping:
    if not isinstance(doc.data, dict):
        raise IcploopError(
            f"{doc.where()}: a mapping file is a YAML object with a 'tables' list", _HINT
        )
    return validate(doc, Mapping, "mapping", _HINT)


def parse_mapping(text: str, source: str = "<mapping>") -> Mapping:
    """Parse mapping YAML; errors are IcploopError naming ``source`` and the line."""
    return _validated(parse_yaml(text, source))


def load_mapping(path: Path) -> Mapping:
    """Read and parse a mapping file."""
    return _validated(read_yaml(path, "mapping file"))


def preset_names() -> list[str]:
    """Names of the presets shipped with icploop (YAML files in ``ingest/presets``)."""
    folder = resources.files("icploop.ingest") / "presets"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_preset(name: str) -> Mapping:
    """A shipped preset by name, e.g. ``hubspot-deals``."""
    if name not in preset_names():
        raise IcploopError(
            f"unknown preset {name!r}", f"choose one of: {', '.join(preset_names())}"
        )
    text = (resources.files("icploop.ingest") / "presets" / f"{name}.yaml").read_text("utf-8")
    return parse_mapping(text, f"preset {name}")
