"""Go-to-market experiments in the app store: record, list, find, stop, and measure them.

An experiment is a segment (rules that must all hold), the change made for it (a campaign,
messaging, a qualification rule), its start and, once stopped, its end, and optionally a control
(another segment over the same dates, or the same segment over another period; by default the
same segment in the period of the same length before the start). RevOps, Marketing and sales
managers record them; every change is in the audit log. The measurement itself is
:func:`icploop.alignment.experiments.measure_experiment`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import ValidationError as PydanticError
from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.alignment.experiments import ExperimentResult, measure_experiment
from icploop.errors import IcploopError
from icploop.icp.roles import require_owner_or_role, require_role
from icploop.rules import Kind, Rule, check_rules
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import Experiment

CHANGE_KINDS = ("campaign", "messaging", "qualification", "other")
EXPERIMENTERS = ("revops", "marketing", "sales_manager")

_RULE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(==|!=|<=|>=|<|>|\bnot[ _]in\b|\bin\b)\s*(.+?)\s*$"
)


def _scalar(text: str) -> Any:
    """A rule value from text: a quoted string stays text, else an int, a float, or text."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def parse_rule(text: str) -> Rule:
    """``"industry == Hospitality"``, ``"seats_at_close < 50"``, ``"industry in [Retail, Travel]"``
    as a :class:`~icploop.rules.Rule`; a JSON object ``{"attribute", "op", "value"}`` works too.
    An IcploopError says what is wrong; the text never becomes SQL."""
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            return Rule.model_validate(json.loads(stripped))
        match = _RULE.match(stripped)
        if not match:
            raise IcploopError(
                f"cannot read the rule {_short(text)}",
                "write 'attribute op value', op one of == != < <= > >= in not_in, "
                "e.g. 'industry == Hospitality' or 'industry in [Retail, Travel]'",
            )
        attribute, op, raw = match.groups()
        op = "not_in" if op.startswith("not") else op
        value: Any
        if op in ("in", "not_in"):
            inner = raw.strip()
            if inner.startswith("[") and inner.endswith("]"):
                inner = inner[1:-1]
            value = [_scalar(v) for v in inner.split(",") if v.strip()]
        else:
            value = _scalar(raw)
        return Rule(attribute=attribute, op=op, value=value)
    except PydanticError as exc:
        raise IcploopError(f"invalid rule {_short(text)}: {_first(exc)}") from None
    except json.JSONDecodeError as exc:
        raise IcploopError(f"invalid rule {_short(text)}: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise IcploopError(
            f"invalid rule {_short(text)}: its JSON is nested too deeply",
            "a rule's value is one value or a list of values",
        ) from None


def _first(exc: PydanticError) -> str:
    """The first problem pydantic found, as one line (``field: message``)."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _short(text: str, limit: int = 80) -> str:
    """A rule's text for a message: quoted, cut to ``limit`` characters."""
    return (
        repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} characters)"
    )


def _rules(rules: list[Rule | dict[str, Any] | str]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        if isinstance(rule, str):
            rule = parse_rule(rule)
        elif isinstance(rule, dict):
            try:
                rule = Rule.model_validate(rule)
            except PydanticError as exc:
                raise IcploopError(f"invalid rule {_short(str(rule))}: {_first(exc)}") from None
        out.append(rule.model_dump(mode="json", include={"attribute", "op", "value"}))
    return out


def _control(control: dict[str, Any] | None) -> dict[str, Any] | None:
    if control is None:
        return None
    kind = control.get("kind")
    if kind == "segment":
        rules = _rules(list(control.get("rules") or []))
        if not rules:
            raise IcploopError("a control segment needs at least one rule")
        return {"kind": "segment", "rules": rules}
    if kind == "period":
        try:
            start = dt.date.fromisoformat(str(control["start"]))
            end = dt.date.fromisoformat(str(control["end"]))
        except (KeyError, ValueError):
            raise IcploopError(
                "a control period needs start and end dates", "e.g. 2022-01-01:2022-12-31"
            ) from None
        if end < start:
            raise IcploopError(f"the control period ends ({end}) before it starts ({start})")
        return {"kind": "period", "start": start.isoformat(), "end": end.isoformat()}
    raise IcploopError(f"unknown control kind {kind!r}", "use a control segment or a period")


def add_experiment(
    session: Session,
    actor: str,
    name: str,
    segment: list[Rule | dict[str, Any] | str],
    change_kind: str,
    change: str,
    start: dt.date,
    *,
    end: dt.date | None = None,
    control: dict[str, Any] | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> Experiment:
    """Record an experiment (RevOps, Marketing, sales managers and admins may).

    ``kinds`` are the attributes the experiment is measured on and their kinds
    (:func:`icploop.alignment.experiments.experiment_kinds`): a segment or control rule that
    names another attribute, or a value that does not compare with its column, is refused here
    so that it never reaches a page or the pack. Surfaces always pass them."""
    require_role(session, actor, EXPERIMENTERS, "record experiments")
    name = name.strip()
    if not name:
        raise IcploopError("an experiment needs a name")
    if change_kind not in CHANGE_KINDS:
        raise IcploopError(
            f"unknown change kind {change_kind!r}", f"use one of: {', '.join(CHANGE_KINDS)}"
        )
    if not change.strip():
        raise IcploopError("say what changed (--change)")
    rules = _rules(segment)
    if not rules:
        raise IcploopError("an experiment needs at least one segment rule", "add --segment")
    if end is not None and end < start:
        raise IcploopError(f"the experiment ends ({end}) before it starts ({start})")
    if session.scalars(select(Experiment).where(Experiment.name == name)).first() is not None:
        raise IcploopError(f"an experiment named {name!r} exists already", "choose another name")
    checked_control = _control(control)
    if kinds is not None:
        check_rules([Rule.model_validate(r) for r in rules], kinds, "the experiment's segment")
        if checked_control is not None and checked_control["kind"] == "segment":
            control_rules = [Rule.model_validate(r) for r in checked_control["rules"]]
            check_rules(control_rules, kinds, "the control segment")
    record = Experiment(
        name=name,
        segment=rules,
        change_kind=change_kind,
        change=change.strip(),
        start_date=start,
        end_date=end,
        control=checked_control,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(record)
    session.flush()
    audit(
        session,
        actor=actor,
        action="experiment.add",
        object_type="experiment",
        object_id=record.id,
        details={"name": name, "segment": rules, "change_kind": change_kind,
                 "start": start, "end": end, "control": record.control},
    )  # fmt: skip
    return record


def list_experiments(session: Session) -> list[Experiment]:
    """Every experiment, newest start first."""
    return list(
        session.scalars(
            select(Experiment).order_by(Experiment.start_date.desc(), Experiment.id.desc())
        )
    )


def get_experiment(session: Session, key: str | int) -> Experiment:
    """An experiment by name or id; an IcploopError when there is none."""
    record = session.scalars(select(Experiment).where(Experiment.name == str(key))).first()
    if record is None and str(key).isdigit():
        record = session.get(Experiment, int(key))
    if record is None:
        raise IcploopError(f"no experiment {key!r}", "list them with icploop experiment list")
    return record


def stop_experiment(session: Session, actor: str, key: str | int, end: dt.date) -> Experiment:
    """Set an experiment's end date (its cohorts stop there): who recorded it, RevOps or an
    admin may."""
    record = get_experiment(session, key)
    require_owner_or_role(session, actor, record.created_by, ("revops",), "stop this experiment")
    if end < record.start_date:
        raise IcploopError(f"{end} is before the experiment's start ({record.start_date})")
    previous = record.end_date
    record.end_date = end
    audit(
        session,
        actor=actor,
        action="experiment.stop",
        object_type="experiment",
        object_id=record.id,
        details={"name": record.name, "end": end, "previous_end": previous},
    )
    return record


def delete_experiment(session: Session, actor: str, key: str | int) -> str:
    """Delete an experiment (who recorded it, RevOps or an admin may); the audit log keeps its
    whole definition. Returns its name."""
    record = get_experiment(session, key)
    require_owner_or_role(session, actor, record.created_by, ("revops",), "delete this experiment")
    audit(
        session,
        actor=actor,
        action="experiment.delete",
        object_type="experiment",
        object_id=record.id,
        details={"name": record.name, "segment": record.segment, "change_kind": record.change_kind,
                 "change": record.change, "start": record.start_date, "end": record.end_date,
                 "control": record.control, "created_by": record.created_by},
    )  # fmt: skip
    session.delete(record)
    session.flush()
    return record.name


def _rule_text(rules: Any) -> str:
    """Stored rules as text; a rule that no longer reads is named, not raised."""
    texts = []
    for raw in rules or []:
        try:
            texts.append(Rule.model_validate(raw).describe())
        except PydanticError:
            texts.append(f"(unreadable rule {raw!r})")
    return " AND ".join(texts)


def describe(record: Experiment) -> dict[str, Any]:
    """The stored definition as JSON-ready data."""
    control = record.control
    if control is None:
        control_text = "the same segment in the period of the same length before the start"
    elif control.get("kind") == "segment":
        control_text = _rule_text(control.get("rules"))
    else:
        control_text = f"the same segment closed {control.get('start')} to {control.get('end')}"
    return {
        "id": record.id,
        "name": record.name,
        "segment": _rule_text(record.segment),
        "rules": record.segment,
        "change_kind": record.change_kind,
        "change": record.change,
        "start": record.start_date.isoformat(),
        "end": record.end_date.isoformat() if record.end_date else None,
        "control": control,
        "control_text": control_text,
        "created_by": record.created_by,
        "created_at": record.created_at.isoformat(),
    }


def measure(
    record: Experiment,
    outcomes: pd.DataFrame,
    deals: pd.DataFrame,
    tags: pd.Series,
    as_of: dt.date,
    min_accounts: int = 30,
) -> ExperimentResult:
    """The measurement of a stored experiment as of ``as_of`` (see
    :func:`icploop.alignment.experiments.measure_experiment` for the frames). A stored rule that
    no longer reads is an IcploopError naming the experiment."""
    try:
        return _measure(record, outcomes, deals, tags, as_of, min_accounts)
    except PydanticError as exc:
        problem = str(exc).splitlines()[0]
        raise IcploopError(
            f"experiment {record.name!r} has a rule that does not read: {problem}"
        ) from None


def _measure(
    record: Experiment,
    outcomes: pd.DataFrame,
    deals: pd.DataFrame,
    tags: pd.Series,
    as_of: dt.date,
    min_accounts: int,
) -> ExperimentResult:
    return measure_experiment(
        record.name,
        record.segment,
        record.start_date,
        outcomes,
        deals,
        tags,
        as_of,
        end=record.end_date,
        control=record.control,
        min_accounts=min_accounts,
    )


def measure_all(
    session: Session,
    outcomes: pd.DataFrame,
    deals: pd.DataFrame,
    tags: pd.Series,
    as_of: dt.date,
) -> list[dict[str, Any]]:
    """Every experiment started by ``as_of``: its definition and its measurement (``result``:
    :meth:`ExperimentResult.to_dict`, or ``error`` when its rules do not fit the data)."""
    out = []
    for record in list_experiments(session):
        if record.start_date > as_of:
            continue
        item = describe(record)
        try:
            item["result"] = measure(record, outcomes, deals, tags, as_of).to_dict()
        except IcploopError as exc:
            item["result"] = None
            item["error"] = exc.message
        out.append(item)
    return out
