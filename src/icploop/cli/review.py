"""``icploop review``: build the quarterly ICP review pack, show it, decide its proposals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from icploop.cli.common import (
    ActorOption,
    JsonOption,
    WorkspaceOption,
    console,
    fit_config_of,
    print_json,
    settings_for,
    user_errors,
)
from icploop.errors import IcploopError
from icploop.generations import open_analytics
from icploop.icp.document import account_kinds
from icploop.review import decide as decisions
from icploop.review.pack import build_pack, resolve_quarter
from icploop.review.render import parse_formats, write_pack
from icploop.safe_yaml import read_yaml
from icploop.store.database import open_store, utcnow

review_app = typer.Typer(help="The quarterly ICP review: evidence pack, proposals, decisions.")


@review_app.command("build")
def build(
    quarter: Annotated[
        str | None, typer.Option(help="Quarter to review, e.g. 2026Q3 (default: latest full).")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="Any of html,md,pdf,json.")
    ] = "html,md,pdf,json",
    out: Annotated[Path, typer.Option(help="Folder to write the pack into.")] = Path("."),
    built_by: Annotated[str, typer.Option("--as", help="Who builds the pack.")] = "review-build",
    workspace: WorkspaceOption = None,
) -> None:
    """Build the pack for a quarter, store the review and its proposals, write the files."""
    with user_errors():
        formats = parse_formats(format)
        settings = settings_for(workspace)
        backend = open_analytics(settings)
        factory = open_store(settings)
        with factory() as session, session.begin():
            the_quarter = resolve_quarter(backend, quarter)
            pack = build_pack(
                backend, session, the_quarter, currency=settings.figures_currency,
                fit_config=fit_config_of(workspace),
            )  # fmt: skip
            review = decisions.store_review(session, pack, built_by, utcnow())
            paths = write_pack(pack, formats, out)
        for path in paths:
            console.print(str(path), markup=False, highlight=False)
        console.print(f"review {review.id} ({pack['quarter']}): {len(review.proposals)} proposals")
        for p in review.proposals:
            console.print(f"  {p.id}. [{p.kind}] {p.title}", markup=False, highlight=False)


@review_app.command("show")
def show(
    review_id: Annotated[int | None, typer.Argument(help="Default: the latest review.")] = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """A stored review: its quarter, status and proposals with their decisions."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        review = decisions.get_review(session, review_id)
        rows = [
            {"id": p.id, "kind": p.kind, "title": p.title, "decision": p.decision,
             "decided_by": p.decided_by, "payload": p.edited_payload or p.payload,
             "sentence": p.evidence.get("sentence", "")}
            for p in review.proposals
        ]  # fmt: skip
        if json:
            print_json({"id": review.id, "quarter": review.quarter, "as_of": review.as_of,
                        "status": review.status, "proposals": rows})  # fmt: skip
            return
        console.print(
            f"review {review.id} ({review.quarter}, as of {review.as_of}): {review.status}"
        )
        for row in rows:
            console.print(
                f"  {row['id']}. [{row['kind']}] {row['title']}: {row['decision']}",
                markup=False,
                highlight=False,
            )


def _ids(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise IcploopError(f"{text!r} is not a list of proposal ids", "write e.g. 1,3") from None


def _edits(values: list[str] | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for value in values or []:
        pid, _, path = value.partition("=")
        if not pid.strip().isdigit() or not path:
            raise IcploopError(f"--edit {value!r} is not ID=FILE", "write e.g. --edit 4=rule.yaml")
        payload = read_yaml(Path(path), "edited payload").data
        if not isinstance(payload, dict):
            raise IcploopError(f"{path} must hold a mapping (e.g. rule: {{...}})")
        out[int(pid)] = payload
    return out


@review_app.command("decide")
def decide(
    review_id: int,
    actor: ActorOption,
    accept: Annotated[str | None, typer.Option(help="Proposal ids to accept, e.g. 1,3.")] = None,
    reject: Annotated[str | None, typer.Option(help="Proposal ids to reject.")] = None,
    edit: Annotated[
        list[str] | None, typer.Option(help="ID=FILE: accept with the payload in a YAML file.")
    ] = None,
    comment: Annotated[str, typer.Option(help="Why (kept with each decision).")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Accept, edit or reject proposals (RevOps or admin); accepted ones become a draft version."""
    with user_errors():
        edits = _edits(edit)
        kinds = None
        if edits:
            backend = open_analytics(settings_for(workspace))
            kinds = account_kinds(backend)
            backend.disconnect()
        factory = open_store(settings_for(workspace))
        with factory() as session, session.begin():
            now = utcnow()
            decisions.decide(session, review_id, actor, now, _ids(accept), _ids(reject),
                             edits, comment, kinds)  # fmt: skip
            review = decisions.get_review(session, review_id)
            taken = [p for p in review.proposals if p.decision in ("accepted", "edited")]
            version = decisions.draft_version(session, review_id, actor, now) if taken else None
        console.print(f"review {review_id}: {len(taken)} accepted, status {review.status}")
        if version is not None:
            console.print(
                f"draft ICP version {version.number} holds the changes accepted in review {review_id}"
            )


def register(app: typer.Typer) -> None:
    """Add ``icploop review`` to the root app."""
    app.add_typer(review_app, name="review")
