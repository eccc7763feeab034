"""``icploop demo run``: the main job end to end on the demo company (what ``make demo`` runs).

Generate the company (once per size and seed), load it, then print what each capability says
about it: the workspace summary, retention, the segments that retain and churn, the fit tags
and flags, churn reasons and cost to serve, the fit score and NRR forecast, retained bookings per AE
and a segment experiment, and the quarterly review pack.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from icploop.cli.common import console, user_errors
from icploop.cli.demo import demo_app
from icploop.errors import IcploopError

DEMO_AS_OF = dt.date(2026, 10, 31)
# a published demo password, for the demo workspace only (real users choose theirs)
DEMO_PASSWORD = "icploop-demo-password"
DEMO_ROLES = ("revops", "cs_manager", "csm", "ae", "marketing", "admin")
DEMO_ADMIN = "admin@demo.icploop.dev"
DEMO_EXPERIMENT = "hospitality-2023"


def demo_logins(workspace: Path) -> dict[str, str]:
    """Give one demo person of each role the demo password (and add a demo admin)."""
    from icploop.config import load_settings
    from icploop.store.database import open_store, utcnow
    from icploop.store.people import by_login, first_active, save_login
    from icploop.web.auth import hash_password

    logins: dict[str, str] = {}
    with open_store(load_settings(workspace))() as session, session.begin():
        if by_login(session, DEMO_ADMIN) is None:
            save_login(session, DEMO_ADMIN, "admin", utcnow(), name="Demo admin")
        hashed = hash_password(DEMO_PASSWORD)
        for role in DEMO_ROLES:
            person = first_active(session, role)
            if person is not None:
                if not person.password_hash:
                    save_login(session, person.person_id, role, utcnow(), password_hash=hashed)
                logins[role] = person.person_id
    return logins


def _has_experiment(workspace: Path, name: str) -> bool:
    from icploop.config import load_settings
    from icploop.icp.experiments import get_experiment
    from icploop.store.database import open_store

    with open_store(load_settings(workspace))() as session:
        try:
            get_experiment(session, name)
        except IcploopError:
            return False
    return True


def _existing_truth(data: Path, accounts: int, seed: int) -> bool:
    truth = data / "truth.json"
    if not truth.exists():
        return False
    saved = json.loads(truth.read_text())
    return bool(saved.get("accounts") == accounts and saved.get("seed") == seed)


def _section(title: str) -> None:
    console.rule(f"[bold]{title}")


@demo_app.command("run")
def run(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo's source files (data/).")
    ] = Path("icploop-demo"),
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace (default DIR/workspace).")
    ] = None,
    accounts: Annotated[int, typer.Option(min=100, help="Customers to generate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed of the demo company.")] = 7,
) -> None:
    """Generate, load and analyse the demo company; safe to run again."""
    from icploop import model_files
    from icploop.cli import (
        alignment,
        cost,
        fit,
        forecast,
        ingest,
        metrics,
        model,
        reasons,
        review,
        segments,
        status,
    )
    from icploop.demo.generator import generate_company

    with user_errors():
        data = directory / "data"
        ws = workspace or directory / "workspace"
        _section("1. The demo company")
        if _existing_truth(data, accounts, seed):
            console.print(f"using the demo company already in {data}")
        else:
            with console.status("generating the demo company"):
                truth = generate_company(data, accounts=accounts, seed=seed)
            console.print(
                f"generated {accounts:,} customers and {truth['prospects']:,} prospects "
                f"into {data} (planted effects in truth.json)"
            )
        _section("2. Load (validated, all or nothing, idempotent)")
        ingest.load(
            paths=[data],
            mapping=None,
            preset=None,
            workspace=ws,
            analytics_url=None,
            source_url=None,
            source_tables=None,
        )
        status.status(json_output=False, workspace=ws)
        _section("3. Retention")
        metrics.metrics_report(
            by="seats_band", cohort=None, as_of=None, as_json=False, workspace=ws
        )
        _section("4. Which segments retain and which churn")
        segments.segments_command(
            outcome="churn", depth=2, min_size=None, top=5, as_of=None, json=False, workspace=ws
        )
        _section("5. The value-based ICP against the lookalike, intent and win-rate ICPs")
        segments.segments_command(view="compare", top=5, as_of=None, json=False, workspace=ws)
        _section("6. The 90-day fit tags and bad-fit flags")
        fit.run(
            workspace=ws,
            as_of=dt.datetime.combine(DEMO_AS_OF, dt.time()),
            config=None,
            routing=None,
            send=True,
            json=False,
        )
        _section("7. Why accounts churned, and does support cause it")
        reasons.pareto_command(window=12, workspace=ws)
        reasons.test_command(hypothesis="support", window=12, lookback=6, taxonomy=None,
                             as_of=None, json=False, workspace=ws)  # fmt: skip
        _section("8. Cost to serve against gross margin")
        cost.cost_command(window=12, rate=None, gross_margin=0.8, tier_by="plan_tier",
                             tiers="premium,growth,starter", high_touch="premium", top=5,
                             as_of=None, json=False, workspace=ws)  # fmt: skip
        _section("9. The fit score trained on retention, against the scores used today")
        if model_files.versions(ws):
            model.report_command(version=None, workspace=ws, json=False)
        else:
            model.train(as_of=None, split=None, workspace=ws, json=False)
        _section("10. NRR forecast from the fit mix, and what fewer bad fits are worth")
        forecast.forecast_nrr(as_of=None, run_backtest=True, workspace=ws, json=False)
        forecast.whatif_bad_fit(share=0.04, as_of=None, workspace=ws, json=False)
        forecast.whatif_retention(points=5.0, years=3, margin=0.8, arr=None, retention=None,
                                 as_of=None, workspace=ws, json=False)  # fmt: skip
        logins = demo_logins(ws)
        _section("11. Bookings against retained bookings, and the 2023 push as an experiment")
        alignment.scorecard_command(by="ae", quarters=8, as_of=None, workspace=ws, json=False)
        if not _has_experiment(ws, DEMO_EXPERIMENT):
            alignment.add(
                name=DEMO_EXPERIMENT,
                segment=["industry == Hospitality", "close_year == 2023"],
                change_kind="campaign",
                change="the 2023 Hospitality push: a fifth of the year's new logos",
                start=dt.datetime(2023, 1, 1),
                actor=logins.get("marketing", DEMO_ADMIN),
                end=dt.datetime(2023, 12, 31),
                control_segment=["industry != Hospitality", "close_year == 2023"],
                control_period=None,
                workspace=ws,
                json=False,
            )
        alignment.show(name=DEMO_EXPERIMENT, as_of=None, min_accounts=30, workspace=ws, json=False)
        _section("12. The quarterly ICP review pack")
        review.build(
            quarter=None,
            format="html,md,pdf,json",
            out=directory / "review",
            built_by=logins.get("revops", "review-build"),
            workspace=ws,
        )
        console.print(
            "Decide its proposals with `.venv/bin/icploop review decide REVIEW --accept 1,2 "
            f"--as {logins.get('revops', 'REVOPS')} --workspace {ws}` (or in the web app)."
        )
        console.rule()
        console.print(
            f"Workspace: {ws}. Explore it with `.venv/bin/icploop --help`, e.g. "
            f"`.venv/bin/icploop fit list --tag bad_fit --workspace {ws}`."
        )
        console.print(f"\nServe the web app:  .venv/bin/icploop serve --workspace {ws}")
        console.print("then open http://127.0.0.1:8000 and log in as one of (demo only):")
        for role, person in logins.items():
            console.print(f"  {role:<11} {person}  password: {DEMO_PASSWORD}", highlight=False)
