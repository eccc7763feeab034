"""Segment experiments in the REST API: listed, recorded (rules checked against the data before
anything is stored), ended and deleted by who recorded them, RevOps or an admin, audited. The
same functions as ``icploop experiment`` and the ``/alignment`` page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from icploop.icp.experiments import (
    add_experiment,
    delete_experiment,
    describe,
    list_experiments,
    stop_experiment,
)
from icploop.review.alignment import experiment_attributes
from icploop.store import Session
from icploop.store.models import Experiment, Person
from icploop.web import dashboard as numbers
from icploop.web.api import ApiUser
from icploop.web.deps import DB, guard_api, web_state
from icploop.web.errors import ERROR_RESPONSES, Forbidden, NotFound

router = APIRouter(prefix="/api/v1", dependencies=[Depends(guard_api)], responses=ERROR_RESPONSES)

RuleText = Annotated[str, Field(min_length=1, max_length=2000)]
"""One rule as text, e.g. ``industry == Hospitality`` or ``seats_at_close < 50``."""


class ControlIn(BaseModel):
    """A control segment (``rules``) or a control period (``start`` to ``end``)."""

    kind: Literal["segment", "period"]
    rules: list[RuleText] = Field(default_factory=list, max_length=50)
    start: dt.date | None = None
    end: dt.date | None = None


class ExperimentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    segment: list[RuleText] = Field(min_length=1, max_length=50)
    change_kind: Literal["campaign", "messaging", "qualification", "other"]
    change: str = Field(min_length=1, max_length=2000)
    start: dt.date
    end: dt.date | None = None
    control: ControlIn | None = None


class EndIn(BaseModel):
    end: dt.date


class ExperimentOut(BaseModel):
    id: int
    name: str
    segment: str
    change_kind: str
    change: str
    start: dt.date
    end: dt.date | None
    control_text: str
    created_by: str
    created_at: dt.datetime


def _out(record: Experiment) -> ExperimentOut:
    return ExperimentOut.model_validate(describe(record))


def _changeable(session: Session, user: Person, experiment_id: int) -> Experiment:
    """The experiment, if the caller recorded it or is RevOps or an admin (404, 403)."""
    record = session.get(Experiment, experiment_id)
    if record is None:
        raise NotFound(f"there is no experiment {experiment_id}", "list them: GET /experiments")
    if user.role not in ("revops", "admin") and record.created_by != user.person_id:
        raise Forbidden(
            f"only {record.created_by} (who recorded it), RevOps or an admin may change "
            f"experiment {experiment_id}"
        )
    return record


@router.get("/experiments", name="api_experiments", response_model=list[ExperimentOut])
def experiments(session: DB) -> list[ExperimentOut]:
    """Every experiment, newest start first (a stored rule that no longer reads is named in
    its segment text)."""
    return [_out(r) for r in list_experiments(session)]


@router.post(
    "/experiments", name="api_experiment_add", response_model=ExperimentOut, status_code=201
)
def experiment_add(
    request: Request, session: DB, user: ApiUser, body: ExperimentIn
) -> ExperimentOut:
    """Record an experiment; its segment and control rules must name attributes the data has,
    with values that compare (400 naming the rule otherwise, nothing stored)."""
    state = web_state(request)
    as_of = state.as_of()
    accounts = numbers.account_outcomes_frame(state, as_of)
    kinds = state.analytics(lambda b: experiment_attributes(b, accounts, as_of))
    control: dict[str, Any] | None = None
    if body.control is not None:
        control = body.control.model_dump(mode="json")
    segment: list[Any] = list(body.segment)
    record = add_experiment(session, user.person_id, body.name, segment, body.change_kind,
                            body.change, body.start, end=body.end, control=control,
                            kinds=kinds)  # fmt: skip
    return _out(record)


@router.post(
    "/experiments/{experiment_id}/end", name="api_experiment_end", response_model=ExperimentOut
)
def experiment_end(session: DB, user: ApiUser, experiment_id: int, body: EndIn) -> ExperimentOut:
    """End an experiment on a day (who recorded it, RevOps or an admin); audited."""
    record = _changeable(session, user, experiment_id)
    return _out(stop_experiment(session, user.person_id, record.name, body.end))


@router.delete("/experiments/{experiment_id}", name="api_experiment_delete", status_code=204)
def experiment_delete(session: DB, user: ApiUser, experiment_id: int) -> None:
    """Delete an experiment (who recorded it, RevOps or an admin); the audit log keeps its
    whole definition."""
    record = _changeable(session, user, experiment_id)
    delete_experiment(session, user.person_id, record.name)
