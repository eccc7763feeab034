"""The ICP document as data: criteria, do-not-close list, lead-scoring and qualification changes.

One version is a complete, self-contained statement of the ICP: every criterion a testable rule
(``icploop.rules.Rule``) with its rationale and evidence, so any account gets a binary call.
Versions are exported and imported as YAML; two versions can be diffed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from icploop.errors import IcploopError
from icploop.ingest.schema import ACCOUNTS
from icploop.rules import Kind, Rule, schema_kinds
from icploop.safe_yaml import parse_yaml, validate
from icploop.warehouse import Warehouse

Status = Literal["draft", "published", "superseded"]


class ScoringChange(BaseModel):
    """A lead-scoring change for Marketing: an attribute rule and the points it adds or removes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Rule
    points: int
    rationale: str = ""


class IcpContent(BaseModel):
    """What a version says. Equal content means equal versions, whatever their metadata."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: tuple[Rule, ...] = ()
    do_not_close: tuple[Rule, ...] = Field(
        default=(), description="deals matching any of these rules are not to be closed"
    )
    lead_scoring: tuple[ScoringChange, ...] = ()
    qualification: tuple[str, ...] = Field(default=(), description="criteria Sales checks")
    changelog: str = ""


class IcpVersion(BaseModel):
    """A numbered version with its lifecycle: draft, then published (who, when), then superseded."""

    model_config = ConfigDict(extra="forbid")

    number: int
    status: Status = "draft"
    content: IcpContent = Field(default_factory=IcpContent)
    created_by: str = ""
    published_by: str | None = None
    published_at: dt.date | None = None

    def matches(self, attributes: dict[str, Any]) -> bool:
        """The binary call: does an account with these attributes meet every criterion?"""
        return all(rule.holds(attributes.get(rule.attribute)) for rule in self.content.criteria)


_RULE_LISTS: dict[str, type[BaseModel]] = {
    "criteria": Rule,
    "do_not_close": Rule,
    "lead_scoring": ScoringChange,
}


def readable_content(raw: Any) -> tuple[IcpContent, list[str]]:
    """Stored content as it reads: the whole of it, or, when some of it no longer reads (stored
    before a check existed, or written by hand), every part that does, and one line per part
    left out (``criteria 2: op: Input should be ...``), so one bad line never makes a page, a
    check or the pack fail."""
    try:
        return IcpContent.model_validate(raw), []
    except ValidationError:
        pass
    if not isinstance(raw, dict):
        return IcpContent(), [f"the stored content is not a mapping but {type(raw).__name__}"]
    kept: dict[str, Any] = {}
    problems = [f"{key}: not a part of an ICP document" for key in raw
                if key not in IcpContent.model_fields]  # fmt: skip
    for key, value in raw.items():
        model = _RULE_LISTS.get(key)
        if model is not None and isinstance(value, list):
            items = []
            for i, item in enumerate(value, start=1):
                try:
                    items.append(model.model_validate(item))
                except ValidationError as exc:
                    problems.append(f"{key} {i}: {_first_error(exc)}")
            kept[key] = items
        elif key in IcpContent.model_fields:
            try:
                IcpContent.model_validate({key: value})
                kept[key] = value
            except ValidationError as exc:
                problems.append(_first_error(exc))
    return IcpContent.model_validate(kept), problems


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def content_rules(content: IcpContent) -> list[tuple[str, Rule]]:
    """Every rule of the content with where it sits (``criteria 1``, ``lead_scoring 2``...)."""
    out = [(f"criteria {i}", r) for i, r in enumerate(content.criteria, start=1)]
    out += [(f"do_not_close {i}", r) for i, r in enumerate(content.do_not_close, start=1)]
    out += [(f"lead_scoring {i}", s.rule) for i, s in enumerate(content.lead_scoring, start=1)]
    return out


def check_content(content: IcpContent, kinds: Mapping[str, Kind], source: str) -> None:
    """Refuse content whose rules the accounts cannot judge: one IcploopError naming every rule
    (where it sits in ``source``) that names an attribute the accounts lack or a value that does
    not compare with its column. ``kinds``: :func:`account_kinds`."""
    problems = [
        f"{where}: {problem}"
        for where, rule in content_rules(content)
        if (problem := rule.problem(kinds)) is not None
    ]
    if problems:
        raise IcploopError(
            f"{source}: the accounts cannot judge " + "; ".join(problems),
            f"attributes of the accounts: {', '.join(sorted(kinds))}",
        )


def account_kinds(backend: Any | None) -> dict[str, Kind]:
    """The attributes ICP rules may name and their kinds: the columns of the accounts table of
    ``backend`` (an Ibis backend), or the canonical accounts columns while none is loaded."""
    accounts = Warehouse(backend).optional("accounts") if backend is not None else None
    if accounts is not None:
        return schema_kinds(accounts.schema())
    by_type: dict[str, Kind] = {"int": "number", "float": "number", "decimal": "number",
                                "date": "date", "bool": "bool"}  # fmt: skip
    return {c.name: by_type.get(c.type, "text") for c in ACCOUNTS.columns}


def to_yaml(content: IcpContent) -> str:
    """The version's content as YAML (rules as mappings, in order)."""
    return yaml.safe_dump(
        content.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True
    )


def from_yaml(text: str | bytes, source: str = "<yaml>") -> IcpContent:
    """Parse ICP content from YAML (read by :mod:`icploop.safe_yaml`, so within its size, depth
    and alias limits); every problem is an IcploopError naming ``source`` and the line."""
    doc = parse_yaml(text, source)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise IcploopError(
            f"{doc.where()}: an ICP document is a mapping (criteria, do_not_close, ...)"
        )
    return validate(
        doc,
        IcpContent,
        f"ICP document {source}",
        "each criterion needs attribute, op (== != < <= > >= in not_in) and value",
    )


def diff(old: IcpContent, new: IcpContent) -> dict[str, dict[str, list[str]]]:
    """What changed between two versions, per part: ``added`` and ``removed`` descriptions.

    Rules are compared by what they say (attribute, op, value); a changed rationale alone is not
    a change of the ICP.
    """

    def keyed(part: str, content: IcpContent) -> dict[str, str]:
        items = getattr(content, part)
        if part == "lead_scoring":
            return {f"{s.rule.describe()}: {s.points:+d} points": "" for s in items}
        if part == "qualification":
            return {q: "" for q in items}
        return {r.describe(): "" for r in items}

    changes: dict[str, dict[str, list[str]]] = {}
    for part in ("criteria", "do_not_close", "lead_scoring", "qualification"):
        before, after = keyed(part, old), keyed(part, new)
        added = [k for k in after if k not in before]
        removed = [k for k in before if k not in after]
        if added or removed:
            changes[part] = {"added": added, "removed": removed}
    return changes
