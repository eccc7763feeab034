"""The canonical tables the metrics read, and account dimensions to break them down by.

Analytics never open a backend: they receive :class:`CanonicalTables` (Ibis table expressions),
built by the caller from an open backend with :meth:`CanonicalTables.from_backend` or from
in-memory tables in tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from icploop.errors import IcploopError
from icploop.ingest.paying import month_index

# Dimensions computed from other columns rather than read from `accounts`.
CLOSE_COHORT = "close_cohort"
SEATS_BAND = "seats_band"
DEFAULT_SEAT_BANDS: tuple[int, ...] = (50, 100, 250)


@dataclass(frozen=True)
class CanonicalTables:
    """The canonical tables as Ibis expressions; only ``mrr_monthly`` is required.

    ``account_months`` is the loader's derived table of paying months with their neighbours
    (see :mod:`icploop.metrics.facts`); without it the metrics compute the same themselves.
    """

    mrr_monthly: ir.Table
    accounts: ir.Table | None = None
    deals: ir.Table | None = None
    account_attributes: ir.Table | None = None
    account_months: ir.Table | None = None
    attribute_roles: ir.Table | None = None

    @classmethod
    def from_backend(cls, backend: Any) -> CanonicalTables:
        """Bind the canonical tables of an open Ibis backend.

        Raises :class:`IcploopError` when ``mrr_monthly`` is missing (nothing loaded yet).
        """

        def opt(name: str) -> ir.Table | None:
            # probing each table: Ibis 12's list_tables fails on DuckDB 2.0 (fetch_arrow_table)
            try:
                return backend.table(name)
            except Exception:  # the backend's own "no such table" error varies by engine
                return None

        mrr = opt("mrr_monthly")
        if mrr is None:
            raise IcploopError(
                "the analytics warehouse has no mrr_monthly table",
                "run `icploop load` (or `icploop demo run`) first to load the canonical tables",
            )
        return cls(
            mrr_monthly=mrr,
            accounts=opt("accounts"),
            deals=opt("deals"),
            account_attributes=opt("account_attributes"),
            account_months=opt("account_months"),
            attribute_roles=opt("attribute_roles"),
        )


def seats_band_expr(seats: ir.IntegerValue, bands: Sequence[int]) -> ir.StringValue:
    """Label seats into bands such as ``<50``, ``50-99``, ``100-249``, ``250+`` (null stays null)."""
    cuts = sorted(bands)
    branches = [(seats < cuts[0], f"<{cuts[0]}")]
    for lo, hi in itertools.pairwise(cuts):
        branches.append((seats < hi, f"{lo}-{hi - 1}"))
    return ibis.cases(*branches, else_=f"{cuts[-1]}+").name(SEATS_BAND)


def close_cohort(tables: CanonicalTables) -> ir.Table:
    """Per account: ``close_cohort``, the quarter (``2024Q1``) of its first won deal.

    Accounts without a won deal (or without a deals table) fall back to the quarter of their first
    MRR month, so every paying account has a cohort.
    """
    mrr = tables.mrr_monthly
    first = mrr.group_by("account_id").agg(first_m=month_index(mrr.month).min())
    if tables.deals is not None:
        deals = tables.deals
        won = deals.filter((deals.outcome == "won") & deals.close_date.notnull())
        won = won.group_by("account_id").agg(won_m=month_index(won.close_date).min())
        first = first.left_join(won, "account_id").select(
            "account_id", m=ibis.coalesce(ibis._.won_m, ibis._.first_m)
        )
    else:
        first = first.select("account_id", m=first.first_m)
    quarter = first.m // 3
    label = (quarter // 4).cast("string") + "Q" + (quarter % 4 + 1).cast("string")
    return first.select("account_id", **{CLOSE_COHORT: label})


def account_dimensions(
    tables: CanonicalTables,
    by: Sequence[str],
    seat_bands: Sequence[int] = DEFAULT_SEAT_BANDS,
) -> ir.Table:
    """One row per paying account with the requested dimension columns (values as text).

    A dimension is a column of ``accounts``, an attribute of ``account_attributes``,
    ``close_cohort`` (quarter of the first won deal) or ``seats_band`` (bands of
    ``seats_at_close``). Missing values become the label ``(none)`` so no account drops out of
    a breakdown. Raises :class:`IcploopError` for an unknown dimension.
    """
    mrr = tables.mrr_monthly
    out = mrr.select("account_id").distinct()
    acc_cols = set(tables.accounts.columns) if tables.accounts is not None else set()
    extra: set[str] = set()
    if tables.account_attributes is not None and any(
        d not in acc_cols and d not in (CLOSE_COHORT, SEATS_BAND) for d in by
    ):
        attrs = tables.account_attributes
        extra = set(attrs.select("attribute").distinct().to_pyarrow().column(0).to_pylist())
    for dim in by:
        if dim == CLOSE_COHORT:
            part = close_cohort(tables)
        elif dim == SEATS_BAND and tables.accounts is not None and "seats_at_close" in acc_cols:
            acc = tables.accounts
            part = acc.select("account_id", seats_band_expr(acc.seats_at_close, seat_bands))
        elif dim in acc_cols and dim != "account_id":
            acc = tables.accounts
            assert acc is not None
            part = acc.select("account_id", acc[dim].cast("string").name(dim))
        elif dim in extra:
            attrs = tables.account_attributes
            assert attrs is not None
            part = attrs.filter(attrs.attribute == dim).select("account_id", attrs.value.name(dim))
        else:
            raise IcploopError(
                f"unknown breakdown attribute {dim!r}",
                "use a column of accounts, an extra attribute, close_cohort or seats_band",
            )
        out = out.left_join(part, "account_id").select(out, part[dim])
    return out.mutate(**{d: out[d].fill_null("(none)") for d in by})
