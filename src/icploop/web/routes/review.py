"""The quarterly review in the browser: build it (in the background), read the pack, decide."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from icploop.errors import IcploopError
from icploop.icp.document import account_kinds
from icploop.icp.versions import versions_from_review
from icploop.review import decide as decisions
from icploop.review.pack import build_pack, resolve_quarter
from icploop.review.render import render_html
from icploop.safe_yaml import parse_yaml
from icploop.store.database import utcnow
from icploop.store.models import Review
from icploop.web.deps import DB, User, web_state
from icploop.web.errors import NotFound
from icploop.web.jobs import Progress
from icploop.web.routes.common import back, page_router, render

router = page_router()
QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
# the stored pack is a standalone page with inline styles and inline SVG, and nothing else
PACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def _review(session: DB, review_id: int) -> Review:
    try:
        return decisions.get_review(session, review_id)
    except IcploopError as exc:
        raise NotFound(f"there is no review {review_id}", "open /review for the list") from exc


@router.get("/review", name="review_list", response_class=HTMLResponse)
def review_list(request: Request, session: DB, user: User) -> HTMLResponse:
    """Every review, newest first, and the button that builds the next one."""
    reviews = decisions.list_reviews(session)
    return render(request, "review_list.html", {"reviews": reviews})


@router.post("/review/build", name="review_build")
def review_build(
    request: Request,
    user: User,
    quarter: Annotated[str, Form(pattern=QUARTER_PATTERN + "|^$", max_length=6)] = "",
) -> Response:
    """Start building a quarter's pack (default: the latest full quarter) in the background."""
    state = web_state(request)
    builder = user.person_id

    def work(progress: Progress) -> str:
        progress("opening the warehouse", 0.01)
        with state.store() as session, session.begin():
            pack = state.analytics(
                lambda backend: build_pack(
                    backend,
                    session,
                    resolve_quarter(backend, quarter or None),
                    progress=progress,
                    currency=state.settings.figures_currency,
                    fit_config=state.fit_config(),
                )
            )
            review = decisions.store_review(session, pack, builder, utcnow())
            return f"/review/{review.id}"

    job = state.jobs.submit("review.build", builder, work)
    return back(f"/jobs/{job.id}")


@router.get("/jobs/{job_id}", name="job_page", response_class=HTMLResponse)
def job_page(request: Request, user: User, job_id: int) -> HTMLResponse:
    """A background job's progress; the page refreshes itself until the job ends."""
    job = web_state(request).jobs.get(job_id)
    if job is None or (job.started_by != user.person_id and user.role != "admin"):
        raise NotFound(f"there is no job {job_id} of yours", "jobs last as long as the server")
    return render(request, "job.html", {"job": job})


@router.get("/review/{review_id}", name="review_page", response_class=HTMLResponse)
def review_page(request: Request, session: DB, user: User, review_id: int) -> HTMLResponse:
    """One review: its proposals with their evidence and a decision form each."""
    review = _review(session, review_id)
    drafts = versions_from_review(session, review.id)
    payloads: dict[int, str] = {
        p.id: yaml.safe_dump(p.edited_payload or p.payload, sort_keys=False)
        for p in review.proposals
    }
    return render(
        request,
        "review.html",
        {"review": review, "pack": review.evidence, "payloads": payloads, "drafts": drafts},
    )


@router.get("/review/{review_id}/pack", name="review_pack", response_class=HTMLResponse)
def review_pack(session: DB, user: User, review_id: int) -> HTMLResponse:
    """The pack as built, the same self-contained page ``icploop review build`` writes."""
    review = _review(session, review_id)
    response = HTMLResponse(render_html(review.evidence))
    response.headers["Content-Security-Policy"] = PACK_CSP
    return response


def _payload(text: str) -> dict[str, Any]:
    payload = parse_yaml(text, "the edited proposal").data
    if not isinstance(payload, dict):
        raise IcploopError("the edited proposal must be a mapping", "e.g. rule: {...}")
    return payload


@router.post("/review/{review_id}/proposals/{proposal_id}", name="review_decide")
def review_decide(
    request: Request,
    session: DB,
    user: User,
    review_id: int,
    proposal_id: int,
    decision: Annotated[str, Form(pattern="^(accept|reject|edit)$")],
    payload: Annotated[str, Form(max_length=5000)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Accept, edit or reject one proposal; the review's draft ICP version follows."""
    _review(session, review_id)
    edits = {proposal_id: _payload(payload)} if decision == "edit" else None
    kinds = web_state(request).analytics(account_kinds) if edits else None
    now = utcnow()
    picked = (proposal_id,)
    decisions.decide(
        session,
        review_id,
        user.person_id,
        now,
        accept=picked if decision == "accept" else (),
        reject=picked if decision == "reject" else (),
        edits=edits,
        comment=comment,
        kinds=kinds,
    )
    if decision != "reject":
        decisions.draft_version(session, review_id, user.person_id, now)
    return back(f"/review/{review_id}")
