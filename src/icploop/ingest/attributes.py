"""The attribute roles catalogue: what each account and deal column is for, declared once.

Every attribute of an account (or deal) frame has a role (``icploop.ingest.schema.AttributeRole``):

- ``dimension``: values that name groups (industry, plan); searched as ``attr = value``;
- ``measure``: a number (seats, charges); cut at its quantiles, a model feature;
- ``identifier``: names one row (ids, names, zip codes); never searched;
- ``date``: places a row in time; never searched;
- ``label``: an outcome (churned, status, tenure); never searched, never a model feature.

Where a role comes from, strongest first: the mapping's ``role:`` (stored in the warehouse's
``attribute_roles``), the schema (canonical columns) or this module (columns the outcome frames
derive), then inference from the name and the values (extra columns). Segment search, thresholds,
the comparison views and the fit model read their attributes here. See ``docs/data-model.md``,
"Attribute roles".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import ibis.expr.types as ir
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.schema import ACCOUNTS, ATTRIBUTE_ROLES, DEALS, AttributeRole, Table

if TYPE_CHECKING:  # the metrics read the canonical tables; only their type is named here
    from icploop.metrics.tables import CanonicalTables

Origin = Literal["mapping", "schema", "derived", "inferred"]
#: what an attribute describes: the customer, the deal that won it, or a person of the team
Subject = Literal["customer", "deal", "person"]

SEARCHABLE: tuple[AttributeRole, ...] = ("dimension", "measure")


@dataclass(frozen=True)
class Attribute:
    """One column of an account or deal frame and what it is for.

    ``searched`` says whether segment search takes it when no attributes are chosen (a person
    assigned after the sale, say, is searchable on request only); ``reason`` says why it has its
    role (and why it is not searched by default, when it is not).
    """

    name: str
    role: AttributeRole
    origin: Origin
    reason: str
    subject: Subject = "customer"
    searched: bool = True
    feature: bool = True  # False: searchable, but never a model feature

    @property
    def searchable(self) -> bool:
        """Dimensions and measures can be segment attributes; the other roles never."""
        return self.role in SEARCHABLE


#: Canonical account and deal columns that are searchable but not searched by default.
NOT_SEARCHED_BY_DEFAULT = {
    "csm": "assigned after the sale, so not an attribute at close",
    "cs_manager": "assigned after the sale, so not an attribute at close",
    "currency": "a billing detail that follows the region",
}

#: Columns the outcome frames compute (``icploop.segments.outcomes``), with their roles.
DERIVED: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("discount", "measure", "derived", "discount of the first won deal", "deal"),
        Attribute("deal_amount", "measure", "derived", "amount of the first won deal(s)", "deal"),
        Attribute(
            "quarter_end_deal",
            "dimension",
            "derived",
            "first deal closed in the last 14 days of a quarter",
            "deal",
        ),
        Attribute(
            "close_year",
            "dimension",
            "derived",
            "year of the first won deal (a new lead's year is never in the training data, so "
            "no model feature)",
            "deal",
            feature=False,
        ),
        Attribute("close_quarter", "date", "derived", "quarter of the first won deal"),
        Attribute("close_date", "date", "derived", "close date of the first won deal"),
        Attribute("first_month", "date", "derived", "first paid month"),
        Attribute("outcome", "label", "derived", "the deal's stage outcome (won, lost, open)"),
        Attribute(
            "committed_use_cases",
            "measure",
            "derived",
            "use cases committed on the first won deal",
            "deal",
        ),
        Attribute(
            "ae",
            "dimension",
            "derived",
            "AE of the first won deal, else the owner: searched on request only",
            "person",
            searched=False,
        ),
        Attribute(
            "closing_ae",
            "dimension",
            "derived",
            "AE of the first won deal; the same person as owner_ae in most CRMs, so searched "
            "on request only",
            "person",
            searched=False,
        ),
    )
}

#: Outcome columns of the account and deal frames: labels, whatever their values look like.
OUTCOME_LABELS = (
    "first_year_churn",
    "churn_6m",
    "start_mrr",
    "mrr_12m",
    "nrr_12m",
    "ltv",
    "ltv_per_month",
    "months_observed",
    "paid_months",
    "churned",
    "churned_mrr",
    "adoption",
    "stalled",
    "won",
    "never_activated",
    "time_to_value",
    "days_to_value",
    "days_observed",
    "first_value_date",
    "start_date",
)

# name tokens that say a column is an outcome, or names one row
_LABEL_WORDS = re.compile(
    r"(^|_)(churn\w*|attrition|cancel\w*|status|outcome|tenure|retained|won|lost)(_|$)"
)
_IDENTIFIER_WORDS = re.compile(
    r"(^|_)(id|ids|uuid|guid|key|zip|zipcode|postal|postcode|email|phone|url|website|domain)(_|$)"
)
NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
PADDED = r"^\s*0\d+\s*$"  # codes with a leading zero (zip codes, account numbers) are not numbers
DATE = (
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})"
    r"([ T]\d{1,2}:\d{2}.*)?\s*$"
)
#: an extra attribute with at least this share of distinct values (and >= 20 of them) is an id
NEAR_UNIQUE = 0.9


@dataclass(frozen=True)
class ValueProfile:
    """What an extra column's text values look like: counts of present, distinct, numeric,
    zero-padded and date-like values."""

    n: int
    distinct: int
    numeric: int
    padded: int
    dates: int


def infer_role(name: str, profile: ValueProfile) -> tuple[AttributeRole, str]:
    """The role of an extra column from its name and values, with the reason.

    In order: a name that speaks of an outcome (churn, status, tenure, cancel...) is a label; a
    name of an identifier (id, zip, email...) is an identifier; all values dates is a date; all
    values numbers (none zero-padded) is a measure, or a dimension when it has two values (a
    flag); near-unique text (at least 90% distinct and 20 values) is an identifier; the rest are
    dimensions. A column without values is a dimension with nothing to search.
    """
    if _LABEL_WORDS.search(name):
        return "label", "the name speaks of an outcome"
    if _IDENTIFIER_WORDS.search(name):
        return "identifier", "the name speaks of an identifier"
    p = profile
    if p.n and p.dates == p.n:
        return "date", "every value is a date"
    if p.n and p.numeric == p.n and p.padded == 0:
        if p.distinct <= 2:
            return "dimension", "numbers with two values: a flag"
        return "measure", "every value is a number"
    if p.distinct >= 20 and p.distinct >= NEAR_UNIQUE * p.n:
        return "identifier", f"{p.distinct:,} distinct values in {p.n:,}: near-unique"
    return "dimension", "text values" if p.n else "no values"


def profile_values(values: pd.Series) -> ValueProfile:
    """The profile of one column's values (read as text; missing and blank left out)."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    return ValueProfile(
        n=len(text),
        distinct=int(text.nunique()),
        numeric=int(text.str.fullmatch(NUMBER).sum()),
        padded=int(text.str.fullmatch(PADDED).sum()),
        dates=int(text.str.fullmatch(DATE).sum()),
    )


def profile_attributes(attributes: ir.Table) -> dict[str, ValueProfile]:
    """Profiles of every extra attribute of ``account_attributes``, counted in the engine."""
    v = attributes.value.strip()
    present = attributes.filter(v != "")
    v = present.value.strip()
    rows = (
        present.group_by("attribute")
        .agg(
            n=v.count(),
            distinct=v.nunique(),
            numeric=v.re_search(NUMBER).cast("int64").sum(),
            padded=v.re_search(PADDED).cast("int64").sum(),
            dates=v.re_search(DATE).cast("int64").sum(),
        )
        .to_pandas()
    )
    return {
        r["attribute"]: ValueProfile(
            int(r["n"]), int(r["distinct"]), int(r["numeric"]), int(r["padded"]), int(r["dates"])
        )
        for r in rows.to_dict("records")
    }


def _canonical(name: str, tables: Sequence[Table]) -> Attribute | None:
    """The schema's attribute for a canonical column of one of ``tables`` (the first wins)."""
    for table in tables:
        if name in table.column_names:
            c = table.column(name)
            assert c.role is not None, f"{table.name}.{name} declares no role"
            reason = NOT_SEARCHED_BY_DEFAULT.get(name, "declared in the schema")
            return Attribute(
                name,
                c.role,
                "schema",
                reason,
                subject="person" if c.person else "deal" if table is DEALS else "customer",
                searched=name not in NOT_SEARCHED_BY_DEFAULT,
            )
    return None


@dataclass(frozen=True)
class AttributeCatalog:
    """The attributes of one frame with their roles, in the frame's column order."""

    attributes: tuple[Attribute, ...]
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.attributes})

    def with_labels(self, names: Iterable[str]) -> AttributeCatalog:
        """The same catalogue with ``names`` as labels (the outcome being asked about)."""
        asked = set(names)
        return AttributeCatalog(
            tuple(
                replace(a, role="label", origin="derived", reason="the outcome being measured")
                if a.name in asked
                else a
                for a in self.attributes
            )
        )

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Attribute:
        return self._by_name[name]

    def names(self, *roles: AttributeRole) -> list[str]:
        """Attribute names with one of ``roles``, in catalogue order."""
        return [a.name for a in self.attributes if a.role in roles]

    def choose(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] = ()
    ) -> list[Attribute]:
        """The attributes to search: ``include`` (default: every dimension and measure searched
        by default) less ``exclude``. Raises ``IcploopError`` naming an unknown attribute, or
        one whose role is never searched (and how to change it)."""
        for name in [*(include or ()), *exclude]:
            self._check_known(name)
        if include:
            chosen = []
            for name in include:
                a = self._by_name[name]
                if not a.searchable:
                    raise IcploopError(
                        f"{name} is {_article(a.role)} {a.role} ({a.reason}): never searched",
                        f"to search it, give it a role in the mapping (role: {{{name}: "
                        "dimension}) and load again",
                    )
                chosen.append(a)
        else:
            chosen = [a for a in self.attributes if a.searchable and a.searched]
        return [a for a in chosen if a.name not in set(exclude)]

    def customer_dimensions(self) -> list[str]:
        """Dimensions that say who the customer is (searched by default): the candidates of an
        ICP, never the deal's circumstances or the people who own the account."""
        return [
            a.name
            for a in self.attributes
            if a.role == "dimension" and a.subject == "customer" and a.searched
        ]

    def features(self) -> list[Attribute]:
        """Model features: dimensions and measures that describe the customer or the deal
        (never labels, identifiers, dates or the people who own the account)."""
        return [a for a in self.attributes if a.searchable and a.subject != "person" and a.feature]

    def typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every measure as float64 (numbers kept as text become numbers; text
        that is not a number becomes missing)."""
        out = frame.copy()
        for name in self.names("measure"):
            if name in out.columns and not pd.api.types.is_numeric_dtype(out[name]):
                out[name] = pd.to_numeric(out[name].astype("string").str.strip(), errors="coerce")
            if name in out.columns and out[name].dtype != "float64":
                out[name] = out[name].astype("float64")
        return out

    def records(self) -> list[dict[str, object]]:
        """One dict per attribute (name, role, origin, subject, searched, reason) for output."""
        return [
            {
                "attribute": a.name,
                "role": a.role,
                "origin": a.origin,
                "subject": a.subject,
                "searched": a.searchable and a.searched,
                "reason": a.reason,
            }
            for a in self.attributes
        ]

    def _check_known(self, name: str) -> None:
        if name not in self._by_name:
            searchable = [a.name for a in self.attributes if a.searchable]
            raise IcploopError(
                f"unknown attribute {name!r}",
                f"choose from: {', '.join(searchable) or 'none (load accounts first)'}",
            )


def _article(role: str) -> str:
    return "an" if role[0] in "aeiou" else "a"


def catalog(
    columns: Iterable[str],
    profiles: Mapping[str, ValueProfile],
    overrides: Mapping[str, AttributeRole] | None = None,
    labels: Iterable[str] = (),
    tables: Sequence[Table] = (ACCOUNTS,),
) -> AttributeCatalog:
    """The catalogue of ``columns``: each takes the role of, strongest first, ``labels`` (the
    outcome being asked about, and every outcome column), ``overrides`` (a mapping's
    ``role:``), the schema of ``tables`` or the derived columns, else inference from
    ``profiles``."""
    overrides = overrides or {}
    asked = set(labels)
    out = []
    for name in columns:
        known = _canonical(name, tables) or DERIVED.get(name)
        if name in asked or name in OUTCOME_LABELS:
            out.append(Attribute(name, "label", "derived", "the outcome being measured"))
        elif name in overrides:
            base = known or Attribute(name, overrides[name], "mapping", "")
            out.append(
                replace(base, role=overrides[name], origin="mapping", reason="set in the mapping")
            )
        elif known is not None:
            out.append(known)
        else:
            profile = profiles.get(name, ValueProfile(0, 0, 0, 0, 0))
            role, reason = infer_role(name, profile)
            out.append(Attribute(name, role, "inferred", reason))
    return AttributeCatalog(tuple(out))


def frame_catalog(
    frame: pd.DataFrame,
    overrides: Mapping[str, AttributeRole] | None = None,
    labels: Iterable[str] = (),
) -> AttributeCatalog:
    """The catalogue of an account (or deal) frame's columns (``icploop.segments.outcomes``):
    account columns and the derived ones keep their declared roles; the others are extra
    attributes, profiled from the frame's own values."""
    profiles = {
        c: profile_values(frame[c])
        for c in frame.columns
        if _canonical(c, (ACCOUNTS,)) is None and c not in DERIVED and c not in OUTCOME_LABELS
    }
    return catalog(frame.columns, profiles, overrides, labels)


def role_overrides(roles: ir.Table | None) -> dict[str, AttributeRole]:
    """The mapping's ``role:`` entries stored in ``attribute_roles``, by attribute (an account
    column's before a deal column's of the same name); empty without that table."""
    if roles is None:
        return {}
    rows = roles.select("source_table", "attribute", "role").to_pandas()
    rows = rows[rows["role"].isin(ATTRIBUTE_ROLES)].sort_values("source_table", ascending=False)
    return dict(zip(rows["attribute"].astype(str), rows["role"], strict=True))


def searchable_columns(
    frame: pd.DataFrame, chosen: Sequence[Attribute]
) -> tuple[list[str], list[str]]:
    """(categorical, numeric) column names of ``chosen`` that can split ``frame``: present, and
    not the same value (or missing) on every row, which no segment could split."""
    categorical, numeric = [], []
    for a in chosen:
        if a.name not in frame.columns:
            continue
        values = frame[a.name]
        if a.role == "measure":
            if values.notna().any():
                numeric.append(a.name)
        elif values.nunique(dropna=False) > 1:
            categorical.append(a.name)
    return categorical, numeric


#: an attribute present for at most this share of one outcome's rows (and at least
#: ``FOLLOWS_OTHER`` of the other's) is recorded because of the outcome
FOLLOWS_AT_MOST = 0.02
FOLLOWS_OTHER = 0.5


def recorded_with_outcome(
    frame: pd.DataFrame, outcome: str, names: Iterable[str]
) -> dict[str, str]:
    """Attributes of ``frame`` whose presence follows the 0/1 ``outcome``: recorded (not
    missing) for at most 2% of the rows of one outcome and at least half of the other's, as a
    plan tier kept for customers only is for won deals. Such an attribute is known only after
    the outcome, so comparing outcomes by it is circular. Returns attribute -> the reason, for
    a caveat. Rows with a missing outcome are left out; an outcome with no rows tells nothing."""
    y = pd.to_numeric(frame[outcome], errors="coerce")
    ones, zeros = frame[y == 1], frame[y == 0]
    if ones.empty or zeros.empty:
        return {}
    found = {}
    for name in names:
        a = float(ones[name].notna().mean())
        b = float(zeros[name].notna().mean())
        if min(a, b) <= FOLLOWS_AT_MOST and max(a, b) >= FOLLOWS_OTHER:
            found[name] = (
                f"{name} is recorded for {a:.0%} of rows with {outcome} = 1 and {b:.0%} of the "
                "others: it follows the outcome, so it is left out"
            )
    return found


def workspace_catalog(
    accounts: ir.Table | None,
    deals: ir.Table | None,
    account_attributes: ir.Table | None,
    attribute_roles: ir.Table | None,
) -> dict[str, AttributeCatalog]:
    """The catalogue of the stored columns, per table (``accounts``, ``deals``): each canonical
    column that holds a value, then (for accounts) each extra attribute, profiled in the engine.
    Tables not loaded are left out."""
    overrides = role_overrides(attribute_roles)
    out: dict[str, AttributeCatalog] = {}
    for name, table, declared in (("accounts", accounts, ACCOUNTS), ("deals", deals, DEALS)):
        if table is None:
            continue
        cols = [c for c in declared.column_names if c in table.columns]
        counts = table.aggregate(**{c: table[c].count() for c in cols}).to_pandas()
        present = [c for c in cols if int(counts[c].iloc[0]) > 0]
        profiles: dict[str, ValueProfile] = {}
        if name == "accounts" and account_attributes is not None:
            profiles = profile_attributes(account_attributes)
        columns = [*present, *(a for a in sorted(profiles) if a not in present)]
        out[name] = catalog(columns, profiles, overrides, tables=(declared,))
    return out


# --- the attributes of each account, as every account frame carries them ---------------------

QUARTER_END_DAYS = 14
#: The order account columns take in a frame (then the schema's other dimensions and measures):
#: it is the order conditions are written in ("owner_ae = X AND quarter_end_deal = yes").
ACCOUNT_COLUMN_ORDER = (
    "industry",
    "segment",
    "region",
    "lead_source",
    "use_case",
    "owner_ae",
    "seats_at_close",
    "employees",
    "intent_score",
)


def first_deals(deals: ir.Table) -> ir.Table:
    """Per account, its first won deal(s): close date, mean discount, summed amount, AE (those
    the deals table has)."""
    won = deals.filter(deals.outcome == "won")
    first = won.group_by("account_id").agg(first_close=won.close_date.min())
    firsts = won.join(first, "account_id")
    firsts = firsts.filter(firsts.close_date == firsts.first_close)
    optional = {
        "discount": lambda t: t.discount.mean(),
        "amount": lambda t: t.amount.sum().cast("float64"),
        "ae": lambda t: t.ae.min(),
    }
    names = {"discount": "discount", "amount": "deal_amount", "ae": "closing_ae"}
    return firsts.group_by("account_id").agg(
        close_date=firsts.close_date.min(),
        **{names[c]: agg(firsts) for c, agg in optional.items() if c in firsts.columns},
    )


def account_attribute_columns(accounts: ir.Table) -> list[str]:
    """The columns of ``accounts`` an account frame carries: every dimension and measure the
    schema declares, in ``ACCOUNT_COLUMN_ORDER`` first."""
    declared = [c.name for c in ACCOUNTS.columns if c.role in SEARCHABLE]
    ordered = [*ACCOUNT_COLUMN_ORDER, *(c for c in declared if c not in ACCOUNT_COLUMN_ORDER)]
    return [c for c in ordered if c in accounts.columns]


def with_account_attributes(frame: pd.DataFrame, tables: CanonicalTables) -> pd.DataFrame:
    """``frame`` (one row per ``account_id``, with ``first_month``: the start when there is no
    won deal) with each account's attributes: the account columns, the first won deal's close
    date, discount, amount and AE, the derived ``close_quarter``, ``quarter_end_deal`` (closed in
    the last 14 days of a quarter) and ``close_year``, then the extra attributes (as text)."""
    if tables.accounts is not None:
        cols = account_attribute_columns(tables.accounts)
        accounts = tables.accounts.select("account_id", *cols).to_pandas()
        frame = frame.merge(accounts, on="account_id", how="left")
    if tables.deals is not None:
        deals = first_deals(tables.deals).to_pandas()
        frame = frame.merge(deals, on="account_id", how="left")
        closes = pd.to_datetime(frame["close_date"]).fillna(pd.to_datetime(frame["first_month"]))
        frame["close_date"] = closes.dt.date
        frame["close_quarter"] = closes.dt.year.astype(str) + "Q" + closes.dt.quarter.astype(str)
        # deals pulled into the last two weeks of a quarter are where quota pressure shows
        to_quarter_end = (closes + pd.offsets.QuarterEnd(0) - closes).dt.days
        frame["quarter_end_deal"] = (to_quarter_end < QUARTER_END_DAYS).map(
            {True: "yes", False: "no"}
        )
        frame["close_year"] = closes.dt.year.astype(str)
    return with_extra_attributes(frame, tables)


def with_extra_attributes(frame: pd.DataFrame, tables: CanonicalTables) -> pd.DataFrame:
    """``frame`` with the accounts' extra attributes (as text) as columns, each under its name
    unless the frame already has a column of that name."""
    if tables.account_attributes is None:
        return frame
    extra = tables.account_attributes.to_pandas()
    if extra.empty:
        return frame
    wide = extra.pivot_table(
        index="account_id", columns="attribute", values="value", aggfunc="first"
    )
    wide = wide[[c for c in wide.columns if c not in frame.columns]]
    return frame.merge(wide.reset_index(), on="account_id", how="left")
