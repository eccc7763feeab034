"""``icploop model``, ``icploop score``, ``icploop deals``, ``icploop forecast``, ``icploop whatif``.

The fit model trained on retention (train, report, points table export), scoring a CSV of leads or
open opportunities, the deal-time fit check of open deals, the NRR forecast with its backtest,
and the what-ifs on the economics of fit. Analytics live in ``icploop.scoring``; stored versions
in ``icploop.model_files``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from icploop import model_files
from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    currency_of,
    data_as_of,
    fit_tags_of,
    open_warehouse,
    print_json,
    settings_for,
    user_errors,
)
from icploop.engine import open_analytics
from icploop.errors import IcploopError
from icploop.icp.in_force import RulesInForce
from icploop.metrics.calendar import index_of
from icploop.metrics.movements import paying_months
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.apply import fill_from_accounts, is_deal_batch, score_batch
from icploop.scoring.deal_check import ae_patterns, check_deals
from icploop.scoring.economics import (
    acquisition_vs_retention,
    bad_fit_whatif,
    ltv_cac,
    retention_value,
    tag_mix_and_nrr,
)
from icploop.scoring.evaluate import Evaluation
from icploop.scoring.features import (
    customer_history,
    deal_history,
    target_spec,
    training_frame,
    workspace_overrides,
)
from icploop.scoring.forecast import backtest, forecast_nrr_at
from icploop.scoring.train import INSUFFICIENT, TIERS, train_fit, unscored_columns
from icploop.spreadsheet import neutralise_frame
from icploop.warehouse import Warehouse, today_or

model_app = typer.Typer(help="The fit model trained on retention: train, report, points table.")
deals_app = typer.Typer(help="Deal-time fit checks of open opportunities.")
forecast_app = typer.Typer(help="Forecasts from the fit mix.")
whatif_app = typer.Typer(help="What a change in the fit mix or in retention is worth.")

VersionOption = Annotated[
    str | None, typer.Option("--version", help="Stored model version (default the newest).")
]


def _open(
    workspace: Path | None, as_of: dt.datetime | None
) -> tuple[Any, CanonicalTables, dt.date]:
    warehouse = open_warehouse(workspace)
    return warehouse.backend, warehouse.tables, data_as_of(warehouse, as_of)


def evaluation_json(ev: Evaluation) -> dict[str, Any]:
    return {
        "target": ev.target,
        "target_description": ev.target_description,
        "split_date": ev.split_date,
        "train_accounts": ev.train_accounts,
        "test_accounts": ev.test_accounts,
        "test_closed": [ev.test_from, ev.test_to],
        "first_year_churn_rate": ev.base_rate,
        "has_skill": ev.has_skill,
        "beats_baselines": ev.beats_baselines,
        "sentence": ev.sentence,
        "tiers_monotone": ev.tiers_monotone,
        "tier_sentence": ev.tier_sentence,
        "metrics": ev.metrics.to_dict("records"),
        "tiers": ev.tiers.to_dict("records"),
        "calibration": ev.calibration.to_dict("records"),
        "caveats": list(ev.caveats),
    }


def print_report(report: dict[str, Any]) -> None:
    """The comparison table, the tier table and the plain sentence."""
    what = report.get("target_description", "first-year churn")
    held = "the newest cohorts (time split)" if report.get("split_date") else "held-out accounts"
    table = Table(title=f"Predicting {what} on {held}")
    for col in ("score", "AUC (95% CI)", "Brier (base)", "calib. slope", "top 10% lift"):
        table.add_column(col, justify="left" if col == "score" else "right")
    for m in report["metrics"]:
        table.add_row(
            m["score"],
            f"{m['auc']:.2f} ({m['auc_lo']:.2f}-{m['auc_hi']:.2f})",
            f"{m['brier']:.3f} ({m['base_brier']:.3f})",
            f"{m['calibration_slope']:.2f}",
            f"{m['top_decile_lift']:.1f}x",
        )
    console.print(table)
    tiers = Table(title="Fit tiers on the held-out accounts")
    for col in ("tier", "accounts", "event rate", "12-month NRR"):
        tiers.add_column(col, justify="right")
    for t in report["tiers"]:
        nrr = t.get("nrr_12m")
        tiers.add_row(
            t["tier"],
            str(t["accounts"]),
            f"{t['churn_rate']:.1%}",
            "-" if nrr is None or nrr != nrr else f"{nrr:.1%}",
        )
    console.print(tiers)
    console.print(report["sentence"])
    console.print(report["tier_sentence"])
    for caveat in report.get("caveats", []):
        console.print(f"[yellow]caveat:[/] {caveat}")


@model_app.command("train")
def train(
    as_of: AsOfOption = None,
    split: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Test on accounts closed from this date."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="churn_12m (first-year churn), churn_any (churned, with the months observed as "
            "exposure: a snapshot with tenure), activation, or column:NAME (a 0/1 attribute). "
            "Default: churn_12m when the workspace has won deals, else churn_any."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Train on the workspace's own attributes, compare with a logistic regression and the
    baselines on held-out accounts, store a new version."""
    with user_errors():
        backend, tables, day = _open(workspace, as_of)
        deals = deal_history(tables)
        chosen = target_spec(target or ("churn_12m" if (deals["won"] == 1).any() else "churn_any"))
        history = training_frame(tables, day, chosen, Warehouse(backend).optional("usage"))
        trained = train_fit(
            history,
            deals,
            day,
            split.date() if split else None,
            target=chosen,
            overrides=workspace_overrides(tables),
        )
        report = {
            "as_of": day,
            "target": chosen.name,
            "target_description": chosen.description,
            "accounts": trained.accounts,
            "features": {
                "dimensions": list(trained.features.categorical),
                "measures": list(trained.features.numeric),
                "exposure": trained.features.exposure,
            },
            "evaluation": evaluation_json(trained.evaluation),
            "model": trained.model.summary().to_dict("records"),
        }
        version = model_files.save(
            settings_for(workspace).workspace, trained.model, trained.points, report
        )
        if json:
            print_json({"version": version, **report})
            return
        ev = trained.evaluation
        held = (
            f"evaluated on those closed from {ev.split_date}"
            if ev.split_date
            else f"evaluated on {ev.test_accounts:,} held out at random"
        )
        console.print(
            f"Fit model {version}: predicts {chosen.description}; trained as of {day} on "
            f"{trained.accounts:,} accounts with a known outcome; {held}."
        )
        console.print(
            "Features: "
            + ", ".join(trained.features.attributes)
            + (f"; exposure: {trained.features.exposure}" if trained.features.exposure else "")
        )
        print_report(report["evaluation"])


@model_app.command("report")
def report_command(
    version: VersionOption = None, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """The stored evaluation of a version."""
    with user_errors():
        name, _m, _p, report = model_files.load(settings_for(workspace).workspace, version)
        if json:
            print_json(report)
            return
        console.print(f"Fit model {name}, trained as of {report['as_of']}.")
        print_report(report["evaluation"])


@model_app.command("points")
def points_command(
    version: VersionOption = None,
    format: Annotated[str, typer.Option("--format", help="csv or yaml.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The points table (attribute bins to points, tier minimums) for a CRM or a spreadsheet."""
    with user_errors():
        if format not in ("csv", "yaml"):
            raise IcploopError(f"unknown format {format!r}", "use csv or yaml")
        _n, _m, points, _r = model_files.load(settings_for(workspace).workspace, version)
        text = points.to_csv() if format == "csv" else points.to_yaml()
        if out:
            out.write_text(text)
            console.print(f"wrote {out}")
        else:
            typer.echo(text, nl=False)


@model_app.command("list")
def list_command(workspace: WorkspaceOption = None) -> None:
    """Stored versions."""
    with user_errors():
        for v in model_files.versions(settings_for(workspace).workspace):
            console.print(v)


def _rules(workspace: Path | None, icp: Path | None, day: dt.date) -> RulesInForce:
    """The ICP rules of the deal check: from a YAML file, else those in force on ``day``."""
    from icploop.icp.in_force import rules_from_file, rules_in_force
    from icploop.store.database import open_store

    if icp is not None:
        return rules_from_file(icp, day)
    with open_store(settings_for(workspace))() as session:
        return rules_in_force(session, day)


def _rename_by_mapping(records: pd.DataFrame, mapping: Path) -> pd.DataFrame:
    """Plain column renames from a mapping file's accounts and deals entries."""
    from icploop.ingest.mapping import load_mapping

    renames: dict[str, str] = {}
    for table in load_mapping(mapping).tables:
        if table.table not in ("accounts", "deals"):
            continue
        for canonical, spec in table.columns.items():
            source = spec if isinstance(spec, str) else getattr(spec, "column", None)
            if source and source in records.columns:
                renames[source] = canonical
    return records.rename(columns=renames)


def score_command(
    file: Annotated[Path, typer.Argument(help="CSV of leads or open opportunities.")],
    out: Annotated[Path | None, typer.Option(help="Default: FILE.scored.csv.")] = None,
    version: VersionOption = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file whose plain column renames to apply.")
    ] = None,
    icp: Annotated[
        Path | None,
        typer.Option(help="ICP YAML for the deal check (default the version in force)."),
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Score a CSV: fit score, tier, points and top reasons; open deals also get the fit check."""
    with user_errors():
        if not file.exists():
            raise IcploopError(f"no such file: {file}", "give the path of a CSV file")
        records = pd.read_csv(file, dtype=str, keep_default_na=False)
        if mapping is not None:
            records = _rename_by_mapping(records, mapping)
        settings = settings_for(workspace)
        name, model, points, _report = model_files.load(settings.workspace, version)
        # with no data loaded, the records are scored alone and the rules in force today apply
        warehouse = Warehouse(open_analytics(settings))
        tables = warehouse.tables if warehouse.has("mrr_monthly") else None
        day = data_as_of(warehouse, None) if tables is not None else today_or(None)
        rules = _rules(workspace, icp, day) if is_deal_batch(records) else None
        criteria, dnc = (rules.criteria, rules.do_not_close) if rules else ((), ())
        scored = score_batch(records, model, points, tables, criteria, dnc, day)
        missing = unscored_columns(fill_from_accounts(records, tables), model)
        target = out or file.with_name(file.stem + ".scored.csv")
        # a name like =HYPERLINK(...) from the input must not become a formula in the output
        neutralise_frame(scored).to_csv(target, index=False)
        counts = scored["fit_tier"].value_counts().reindex(list(TIERS), fill_value=0)
        if not counts[INSUFFICIENT]:
            counts = counts.drop(INSUFFICIENT)
        if json:
            print_json(
                {
                    "version": name,
                    "rows": len(scored),
                    "out": str(target),
                    "tiers": counts.to_dict(),
                    "missing_columns": missing,
                }
            )
            return
        console.print(f"Scored {len(scored):,} rows with fit model {name}; wrote {target}")
        if missing:
            console.print(
                f"[yellow]warning:[/] no column for {', '.join(missing)}: scored as missing "
                "(add the columns, or rename them with --mapping)"
            )
        table = Table("tier", "rows", "share")
        for tier, n in counts.items():
            table.add_row(str(tier), f"{n:,}", f"{n / max(len(scored), 1):.0%}")
        console.print(table)
        if "at_risk" in scored.columns:
            console.print(f"{int(scored['at_risk'].sum())} open deals carry at least one fit risk.")


@deals_app.command("check")
def deals_check(
    as_of: AsOfOption = None,
    icp: Annotated[
        Path | None, typer.Option(help="ICP YAML (default the version in force).")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Open opportunities in the warehouse and the traits that put them at risk."""
    with user_errors():
        _backend, tables, day = _open(workspace, as_of)
        open_deals = deal_history(tables, outcomes=("open",))
        rules = _rules(workspace, icp, day)
        criteria, dnc = rules.criteria, rules.do_not_close
        patterns = ae_patterns(customer_history(tables, day))
        check = check_deals(open_deals, criteria, dnc, patterns)
        rows = pd.concat([open_deals[["deal_id", "account_id", "close_date"]], check], axis=1)
        if json:
            print_json(
                {
                    **rules.to_dict(),
                    "ae_patterns": [p.describe() for p in patterns],
                    "deals": rows.to_dict("records"),
                }
            )
            return
        at_risk = rows[rows["at_risk"]]
        console.print(
            f"{len(rows)} open deals, {len(at_risk)} at risk; ICP criteria from {rules.source}: "
            f"{', '.join(r.describe() for r in criteria) or 'none (publish an ICP or pass --icp)'}."
        )
        for p in patterns:
            console.print(f"- {p.describe()}")
        for r in at_risk.head(20).to_dict("records"):
            console.print(
                f"{r['deal_id']} ({r['account_id']}, closes {r['close_date']}): {r['risks']}"
            )


def _paying(tables: CanonicalTables, day: dt.date) -> pd.DataFrame:
    return paying_months(tables.mrr_monthly, day).select("account_id", "m", "cents").to_pandas()


@forecast_app.command("nrr")
def forecast_nrr(
    as_of: AsOfOption = None,
    run_backtest: Annotated[bool, typer.Option("--backtest/--no-backtest")] = True,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """NRR 12 months ahead from the fit-tag mix, with an interval and a backtest."""
    with user_errors():
        backend, tables, day = _open(workspace, as_of)
        tags = fit_tags_of(workspace, backend, day).known_months()
        paying = _paying(tables, day)
        forecast = forecast_nrr_at(paying, tags, day)
        bt = backtest(paying, tags) if run_backtest else None
        if json:
            print_json(
                {
                    "made_at": forecast.made_at,
                    "target_month": forecast.target_month,
                    "nrr": forecast.nrr,
                    "interval": [forecast.low, forecast.high],
                    "level": forecast.level,
                    "groups": forecast.groups.to_dict("records"),
                    "caveats": list(forecast.caveats),
                    "backtest": None
                    if bt is None
                    else {
                        "mean_abs_error_points": bt.mean_abs_error_points,
                        "max_abs_error_points": bt.max_abs_error_points,
                        "coverage": bt.coverage,
                        "rows": bt.rows.to_dict("records"),
                    },
                }
            )
            return
        console.print(forecast.sentence)
        table = Table("group", "accounts", "MRR share", "historical 12-month NRR")
        for g in forecast.groups.to_dict("records"):
            table.add_row(
                g["group"],
                f"{g['accounts']:,}",
                f"{g['mrr_share']:.0%}",
                f"{g['historical_nrr']:.1%}",
            )
        console.print(table)
        for caveat in forecast.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")
        if bt is not None:
            console.print(bt.sentence)


@whatif_app.command("bad-fit")
def whatif_bad_fit(
    share: Annotated[
        float, typer.Option(help="Share of new MRR closed with bad fits (0-1).")
    ] = 0.06,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Cohort NRR if the bad-fit share of new deals were SHARE (tags' NRR from history)."""
    with user_errors():
        backend, tables, day = _open(workspace, as_of)
        tags = fit_tags_of(workspace, backend, day).on(day)
        mix, nrr = tag_mix_and_nrr(tags, customer_history(tables, day), day)
        result = bad_fit_whatif(mix, nrr, share)
        if json:
            print_json(
                {
                    "tag_nrr": nrr,
                    "current_bad_fit_share": result.current_share,
                    "bad_fit_share": share,
                    "current_nrr": result.current_nrr,
                    "nrr": result.new_nrr,
                    "table": result.table.to_dict("records"),
                }
            )
            return
        console.print(
            "12-month NRR by fit tag: " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(nrr.items()))
        )
        console.print(result.sentence)


@whatif_app.command("retention")
def whatif_retention(
    points: Annotated[float, typer.Option(help="Points of annual retention gained.")] = 5.0,
    years: Annotated[int, typer.Option(min=1, max=10)] = 3,
    margin: Annotated[float, typer.Option(help="Gross margin (0-1).")] = 0.8,
    arr: Annotated[float | None, typer.Option(help="Default: current MRR x 12.")] = None,
    retention: Annotated[
        float | None,
        typer.Option(help="Annual net retention (default: the trailing 12-month NRR)."),
    ] = None,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Revenue and margin from POINTS more retention over YEARS."""
    with user_errors():
        if arr is None or retention is None:
            _b, tables, day = _open(workspace, as_of)
            paying = _paying(tables, day)
            t = index_of(day)
            now = paying[paying["m"] == t].groupby("account_id")["cents"].sum()
            then = paying[paying["m"] == t - 12].groupby("account_id")["cents"].sum()
            arr = arr if arr is not None else float(now.sum()) / 100 * 12
            if retention is None:
                retention = (
                    float(now.reindex(then.index).fillna(0).sum() / then.sum())
                    if then.sum()
                    else 0.9
                )
        result = retention_value(arr, retention, points, years, margin)
        currency = currency_of(workspace)
        if json:
            print_json(
                {
                    "currency": currency,
                    "arr": arr,
                    "retention": retention,
                    "improved": result.improved,
                    "revenue": result.revenue,
                    "revenue_improved": result.revenue_improved,
                    "margin_gain": result.margin_gain,
                    "table": result.table.to_dict("records"),
                }
            )
            return
        console.print(f"{result.sentence} Amounts in {currency}.")


def _cac_pairs(values: list[str]) -> dict[str, float]:
    out = {}
    for item in values:
        key, sep, amount = item.partition("=")
        if not sep:
            raise IcploopError(f"--cac {item!r} is not VALUE=AMOUNT", "e.g. --cac inbound=12000")
        out[key] = float(amount)
    return out


@whatif_app.command("ltv-cac")
def whatif_ltv_cac(
    by: Annotated[str, typer.Option(help="segment, lead_source, industry, ...")] = "lead_source",
    cac: Annotated[list[str] | None, typer.Option(help="VALUE=AMOUNT, repeatable.")] = None,
    margin: Annotated[float, typer.Option(help="Gross margin (0-1).")] = 0.8,
    as_of: AsOfOption = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """LTV (and LTV:CAC and payback where a CAC is given) by segment or lead source."""
    with user_errors():
        _b, tables, day = _open(workspace, as_of)
        history = customer_history(tables, day)
        if by not in history.columns:
            raise IcploopError(
                f"unknown attribute {by!r}", "use segment, lead_source, industry, use_case, region"
            )
        frame = ltv_cac(history, by, _cac_pairs(cac or []), margin)
        rows = frame.to_dict("records")
        currency = currency_of(workspace)
        if json:
            print_json([{**r, "currency": currency} for r in rows])
            return
        table = Table(
            by,
            "accounts",
            f"ARPA/yr ({currency})",
            "churn y1",
            f"LTV ({currency})",
            f"CAC ({currency})",
            "LTV:CAC",
            "payback mo",
        )

        def blank(v: object) -> bool:
            return v is None or bool(pd.isna(v))

        for r in rows:
            table.add_row(
                str(r[by]),
                f"{r['accounts']:,}",
                f"{r['arpa_annual']:,.0f}",
                f"{r['first_year_churn']:.1%}",
                "-" if blank(r["ltv"]) else f"{r['ltv']:,.0f}",
                "-" if blank(r["cac"]) else f"{r['cac']:,.0f}",
                "-" if blank(r["ltv_to_cac"]) else f"{r['ltv_to_cac']:.1f}",
                "-" if blank(r["payback_months"]) else f"{r['payback_months']:.0f}",
            )
        console.print(table)


@whatif_app.command("spend")
def whatif_spend(
    acquisition: Annotated[float, typer.Option(help="Acquisition spend.")],
    cac: Annotated[float, typer.Option(help="Cost to acquire one account.")],
    retention_spend: Annotated[float, typer.Option(help="Retention spend.")],
    points: Annotated[float, typer.Option(help="Retention points that spend buys.")],
    arpa: Annotated[float, typer.Option(help="Annual revenue of a new account.")],
    book_arr: Annotated[float, typer.Option(help="ARR of the current book.")],
    json: JsonOption = False,
) -> None:
    """ARR bought by acquisition spend against ARR kept by retention spend."""
    with user_errors():
        result = acquisition_vs_retention(acquisition, cac, arpa, retention_spend, book_arr, points)
        if json:
            print_json(result.__dict__)
            return
        console.print(result.sentence)


def register(app: typer.Typer) -> None:
    """Add the scoring commands to the root app."""
    app.add_typer(model_app, name="model")
    app.command("score")(score_command)
    app.add_typer(deals_app, name="deals")
    app.add_typer(forecast_app, name="forecast")
    app.add_typer(whatif_app, name="whatif")
