"""Suggesting a mapping file from an export's header and values, for a person to edit.

``suggest(path)`` reads the header and a sample of rows (as text), guesses which canonical table
the file fills from its column names (against each canonical column's usual names in exports),
which source column fills each canonical column, and what the values need: a date format
(US or European dates, timestamps, Unix seconds), amounts in cents, a stage map for deal
outcomes, trials among subscription statuses, monthly rows without an end date. It returns the
mapping as YAML text with a comment on every guess, and for an accounts file the role of each
extra column as :mod:`icploop.ingest.attributes` infers it; nothing is loaded. The YAML it writes
parses with :func:`icploop.ingest.mapping.parse_mapping`.
"""

# SQL here reads one file through the DuckDB API (the path is a bound argument) and quotes
# column names with ident(); no user text is pasted into it.

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.attributes import infer_role, profile_values
from icploop.ingest.read import SUFFIXES
from icploop.ingest.schema import LOADABLE_TABLES, TABLES
from icploop.ingest.transform import snake

SAMPLE_ROWS = 5000
"""Rows read to judge values (the header is always read whole)."""

# Usual names of canonical columns in exports, as snake_case patterns of the whole name; the
# alternatives of a pattern are tried in order (the first that names a column wins).
SYNONYMS: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": r"(account|company|customer|client|org|organization|seller)_?(id|key)?|record_id|customerid",
        "name": r"(account|company|customer|organization)_?name|name|company",
        "industry": r"industry|sector|vertical|business_segment|segment_industry",
        "employees": r"(number_of_)?employees|employee_count|headcount|company_size",
        "region": r"region|country|state|office_location|location|geo|territory",
        "segment": r"segment|tier|plan_tier|customer_segment",
        "lead_source": r"lead_source|source|origin|referral_source|acquisition_channel|channel",
        "owner_ae": r"(account_)?owner|sales_agent|ae|rep|sales_rep",
        "created_date": r"created(_date|_at|_on)?|signup(_date|_at)?|create_date",
        "currency": r"currency(_code)?",
        "seats_at_close": r"seats|licenses",
    },
    "deals": {
        "deal_id": r"(deal|opportunity|opp)_?id|record_id",
        "account_id": r"(account|company|customer)_?(id|name)?|associated_company_ids",
        "created_date": r"created(_date|_at)?|create_date|engage_date|first_contact(_date)?",
        "close_date": r"close(d)?_(date|at|on)|won_date|closedate",
        "outcome": r"(deal_)?stage|outcome|status|is_won|result",
        "amount": r"amount|close_value|acv|arr|deal_value|value",
        "currency": r"currency(_code)?",
        "ae": r"(deal_|opportunity_)?owner|sales_agent|ae|rep|sales_rep",
        "lead_source": r"lead_source|source|origin",
        "lost_reason": r"(closed_)?lost_reason|loss_reason",
        "seats": r"seats|quantity|licenses",
    },
    "subscriptions": {
        "subscription_id": r"(subscription|sub|line_item)_?id|id",
        "account_id": r"(account|company|customer|client|seller)_?(id)?|customerid",
        "period_start": r"(period_)?start(_date|_at|ed_at)?|month(_start)?|activated_at|billing_month|date",
        "period_end": r"(period_)?end(_date|ed_at)?|ended_at|churn_date|cancell?ed_at",
        "mrr": r"mrr(_amount)?|monthly_(recurring_)?revenue|monthly_charges|(plan_)?amount(_[a-z]{3})?|revenue(_[a-z]{3})?|(unit_)?price",
        "currency": r"(plan_)?currency(_code)?",
        "plan": r"plan(_id|_name|_nickname|_tier)?|product|contract",
        "seats": r"seats|quantity|licenses|plan_quantity",
        "charge_type": r"charge_type|is_trial",
        "billing_period_months": r"billing_(frequency|period|interval)|(plan_)?interval|contract",
    },
    "tickets": {
        "ticket_id": r"(ticket|conversation|case)_?id|id",
        "account_id": r"(account|company|organization|org|customer)_?id",
        "created_date": r"created(_date|_at)?|submitted(_at)?|opened(_at)?",
        "resolved_date": r"(resolved|solved|closed)(_date|_at)?|statistics_last_close_at",
        "priority": r"priority",
        "csat": r"csat|satisfaction(_score|_rating)?|(conversation_)?rating(_rating)?",
        "category": r"category|type|ticket_type",
        "text": r"subject|description|text|body|title",
    },
    "usage": {
        "account_id": r"(account|company|group|org|organization)_?id",
        "date": r"(usage_|event_|activity_)?(date|day)|timestamp|event_time|time|week",
        "feature": r"feature(_name)?|event(_type|_name)?|module",
        "active_users": r"active_users|users|dau",
        "events": r"events|event_count|count|usage_count",
    },
    "notes": {
        "note_id": r"(note|churn_event|event)_?id|id",
        "account_id": r"(account|company|customer)_?id",
        "date": r"date|created(_at)?|churn_date",
        "kind": r"kind|type|note_type",
        "reason_code": r"reason(_code)?",
        "text": r"text|note|body|feedback(_text)?|comment",
    },
    "contacts": {
        "contact_id": r"(contact|person|user)_?id",
        "account_id": r"(account|company)_?id",
        "name": r"(full_)?name",
        "title": r"(job_)?title|role",
        "valid_from": r"valid_from|start(_date)?|created(_at)?",
    },
}

_TABLE_WORDS = {
    "tickets": re.compile(r"ticket|priority|csat|satisfaction|conversation|solved"),
    "usage": re.compile(r"(^|_)event|feature|active_users|anonymous_id|user_id"),
    "subscriptions": re.compile(r"mrr|subscription|plan|interval|billing|period"),
    "deals": re.compile(r"deal|opportunit|stage|close|won"),
    "accounts": re.compile(r"industry|employees|company|sector"),
    "notes": re.compile(r"note|feedback|reason"),
    "contacts": re.compile(r"contact|champion|job_title"),
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_SPACE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}(:\d{2})?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")
_UNIX = re.compile(r"^1\d{9}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WON = re.compile(r"\b(won|win|closed[ _-]?won)\b", re.I)
_LOST = re.compile(r"\b(lost|loss|closed[ _-]?lost)\b", re.I)
_TRIAL = re.compile(r"trial", re.I)
_BOOLEAN = {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
_PERIOD_MONTHS = {
    "month": 1, "monthly": 1, "month-to-month": 1, "quarter": 3, "quarterly": 3,
    "year": 12, "yearly": 12, "annual": 12, "annually": 12, "one year": 12, "two year": 24,
}  # fmt: skip


@dataclass
class Suggestion:
    """A suggested mapping for one file: the table, the columns, and why."""

    table: str
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def yaml(self) -> str:
        return "\n".join(self.lines) + "\n"


def _q(text: str) -> str:
    """A YAML scalar for any text (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def read_sample(path: Path, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The file's header and first ``rows`` rows, every value as text (blank = missing)."""
    if not path.is_file():
        raise IcploopError(f"no such file: {path}", "name a CSV or Parquet export")
    if path.suffix.lower() not in SUFFIXES:
        raise IcploopError(f"{path.name} is not a CSV or Parquet file")
    con = duckdb.connect()
    try:
        if path.suffix.lower() == ".parquet":
            rel = con.read_parquet(str(path))
        else:
            rel = con.read_csv(str(path), header=True, all_varchar=True)
        frame = rel.limit(rows).df()
    except duckdb.Error as exc:
        raise IcploopError(f"cannot read {path.name}: {exc}") from None
    finally:
        con.close()
    return frame.astype("string")


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    v = frame[column].dropna().astype(str).str.strip()
    return v[v != ""]


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern (``a|b(c|d)`` -> ``a``, ``b(c|d)``)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


def _names(header: str) -> list[str]:
    """The snake_case names a header is known by: whole, and the part in brackets of an export
    like ``subscription[plan_id]``."""
    names = [snake(header)]
    if "[" in header:
        names.append(snake(header.split("[")[-1]))
    return names


def _score(table: str, header: list[str]) -> tuple[float, dict[str, str]]:
    """How well the header fits a table, and the best source column for each canonical one."""
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for canonical, pattern in SYNONYMS[table].items():
        for alternative in [canonical, *_alternatives(pattern)]:
            found = [
                h
                for h in header
                if h not in used and any(re.fullmatch(alternative, n) for n in _names(h))
            ]
            if found:
                chosen[canonical] = found[0]
                used.add(found[0])
                break
    required = [c.name for c in TABLES[table].columns if c.required]
    score = sum(2.0 if c in required else 1.0 for c in chosen)
    score -= 1.5 * sum(1 for c in required if c not in chosen)
    score += sum(0.5 for h in header if _TABLE_WORDS[table].search(snake(h)))
    return score, chosen


def _date_spec(values: pd.Series) -> tuple[str | None, str]:
    """(date_format or None, what the values look like) for a sample of date text."""
    sample = values.head(500)
    if sample.empty:
        return None, "no values in the sample"
    if (
        sample.str.fullmatch(_ISO_DATE.pattern).all()
        or sample.str.fullmatch(_ISO_TIME.pattern).all()
    ):
        return None, "ISO dates"
    if sample.str.fullmatch(_UNIX.pattern).all():
        return "unix", "Unix timestamps (seconds)"
    if sample.str.fullmatch(_SPACE_TIME.pattern).all():
        seconds = sample.str.count(":").max() >= 2
        return ("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"), "date and time"
    if sample.str.fullmatch(_YEAR_MONTH.pattern).all():
        return "%Y-%m", "year and month"
    parts = sample.str.extract(_SLASH.pattern).dropna()
    if len(parts) == len(sample):
        first, second = parts[0].astype(int), parts[1].astype(int)
        if (first > 12).any():
            return "%d/%m/%Y", "day/month/year (a first number above 12)"
        if (second > 12).any():
            return "%m/%d/%Y", "month/day/year (a second number above 12)"
        return "%m/%d/%Y", "month/day/year assumed: check, it could be day/month"
    return None, "not recognised as dates: check the format"


def _is_month_starts(values: pd.Series) -> bool:
    sample = values.head(500)
    return bool(len(sample)) and bool(
        sample.str.fullmatch(r"\d{4}-\d{2}(-01)?").all()
        or sample.str.fullmatch(r"\d{4}-\d{2}-01T00:00(:00)?.*").all()
    )


def suggest(path: Path) -> Suggestion:
    """A suggested mapping for one export file (see the module's docstring)."""
    frame = read_sample(path)
    header = [str(c) for c in frame.columns]
    if not header:
        raise IcploopError(f"{path.name} has no header")
    ranked = sorted(
        ((*_score(t, header), t) for t in SYNONYMS if t in LOADABLE_TABLES),
        key=lambda r: -r[0],
    )
    _, chosen, table = ranked[0]
    runner_up = ranked[1][2] if len(ranked) > 1 else None
    out = Suggestion(table)
    lines = out.lines
    lines.append(f"# Suggested by icploop map suggest from {path.name} ({len(frame):,} rows read).")
    lines.append(f"# Table: {table} (next best fit: {runner_up}). Check every line before loading.")
    lines.append(f"description: {_q(path.stem)}")
    lines.append("tables:")
    lines.append(f"  - table: {table}")
    lines.append(f"    files: {_q(path.name)}")
    missing = [c.name for c in TABLES[table].columns if c.required and c.name not in chosen]
    for name in missing:
        out.notes.append(f"no column found for the required {table}.{name}: map it by hand")
    columns = TABLES[table]
    month_rows = (
        table == "subscriptions"
        and "period_start" in chosen
        and "period_end" not in chosen
        and _is_month_starts(_values(frame, chosen["period_start"]))
    )
    if month_rows:
        lines.append("    grain: month   # each row is one month: a month without a row is zero")
    events = table == "usage" and "events" not in chosen and "active_users" not in chosen
    user = next((h for h in header if snake(h) in ("user_id", "userid", "distinct_id")), None)
    if events:
        lines.append("    grain: event   # one row per event: counted per account, day and feature")
        if user is not None:
            lines.append(f"    user: {_q(user)}")
    if table == "accounts":
        lines.append("    extra: keep    # the other columns become account attributes")
    if table != "accounts" and "account_id" in chosen:
        blank = len(frame) - len(_values(frame, chosen["account_id"]))
        if blank:
            lines.append(
                f"    drop_if_blank: [account_id]   # {blank:,} of {len(frame):,} rows read have "
                "no account (counted after the load)"
            )
    lines.append("    columns:")
    for canonical, source in chosen.items():
        if month_rows and canonical == "period_end":
            continue
        values = _values(frame, source)
        spec: dict[str, str] = {"column": _q(source)}
        why = ""
        column = columns.column(canonical)
        if column.type == "date":
            fmt, why = _date_spec(values)
            if fmt is not None:
                spec["date_format"] = _q(fmt)
        elif column.type == "decimal" and values.str.fullmatch(_NUMBER.pattern).all():
            numbers = pd.to_numeric(values, errors="coerce")
            cents = re.search(r"cents|amount|price", snake(source)) and bool(
                len(numbers) and (numbers % 1 == 0).all() and numbers.median() >= 1000
            )
            if cents:
                spec["divide_by"] = "100"
                why = "whole numbers in the thousands: cents? (divide_by: 100)"
            if canonical == "mrr" and re.search(r"arr|annual|year", snake(source)):
                spec["divide_by"] = "12" if not cents else "[100, 12]"
                why = "an annual amount: divided by 12 for MRR"
        elif canonical == "outcome":
            distinct = sorted(values.unique())[:50]
            mapped = {v: "won" for v in distinct if _WON.search(v)}
            mapped |= {v: "lost" for v in distinct if _LOST.search(v) and v not in mapped}
            if mapped:
                spec["values"] = "{" + ", ".join(f"{_q(k)}: {v}" for k, v in mapped.items()) + "}"
                spec["otherwise"] = "open"
                why = f"{len(distinct)} stages; the others are open"
        elif canonical == "charge_type" and set(values.str.lower().unique()) <= _BOOLEAN:
            trues = sorted(
                v for v in values.unique() if v.lower() in ("true", "t", "yes", "y", "1")
            )
            listed = ", ".join(f"{_q(v)}: trial" for v in trues)
            spec["values"] = "{" + listed + "}"
            spec["otherwise"] = "recurring"
            why = "a trial flag: trials are not MRR"
        elif canonical == "billing_period_months" and not values.str.fullmatch(r"\d+").all():
            months = {
                v: _PERIOD_MONTHS[v.lower()] for v in values.unique() if v.lower() in _PERIOD_MONTHS
            }
            if months:
                spec["values"] = "{" + ", ".join(f"{_q(k)}: {m}" for k, m in months.items()) + "}"
                why = "billing periods as months"
        elif column.allowed:
            off = sorted(v for v in values.str.lower().unique() if v not in column.allowed)[:10]
            if off:
                why = f"values {', '.join(off)} are not among {', '.join(column.allowed)}: add values:"
        body = ", ".join(f"{k}: {v}" for k, v in spec.items())
        comment = f"   # {why}" if why else ""
        lines.append(f"      {canonical}: {{{body}}}{comment}")
    if table == "subscriptions" and "charge_type" not in chosen:
        status = next((h for h in header if snake(h).endswith("status")), None)
        if status is not None:
            trials = sorted(v for v in _values(frame, status).unique() if _TRIAL.search(v))
            if trials:
                listed = ", ".join(f"{_q(v)}: trial" for v in trials)
                lines.append(
                    f"      charge_type: {{column: {_q(status)}, values: {{{listed}}}, "
                    "otherwise: recurring}   # trials are not MRR"
                )
                chosen["charge_type"] = status
    used = set(chosen.values()) | ({user} if events and user else set())
    rest = [h for h in header if h not in used]
    if rest and table == "accounts":
        # the attribute roles the load would infer, written out to be checked and edited
        lines.append(
            "    role:   # label: an outcome, never searched; identifier, date: never searched"
        )
        for name in rest:
            role, why = infer_role(snake(name), profile_values(frame[name]))
            lines.append(f"      {_q(name)}: {role}   # {why}")
    elif rest:
        lines.append(f"    # other columns (not loaded): {', '.join(rest)}")
    for note in out.notes:
        lines.append(f"# {note}")
    return out
