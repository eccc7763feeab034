"""Each account's paying months with their neighbours: computed once per load, read by every metric.

Most metrics need, for each paying account-month, the paying month before it, the next one, the
MRR twelve months on and the account's first month. Finding them takes a window over every
account's months (a sort of all MRR rows by account), which is most of the cost of a metric. The
loader derives this table once per load, next to ``mrr_monthly``; the metrics read it when it is
there and the default movement settings apply, and compute the same columns themselves otherwise.
The table and its columns are defined once, at the level of the canonical model, in
:mod:`icploop.ingest.paying` (the load stores it; the metrics read it).

Columns are computed over ALL months in the data; a metric as of an earlier month treats a next
month after its as-of month as no next month, and never reads ``c12`` of a month whose twelfth
month lies after the as-of month, so every number equals the one computed from the rows up to
the as-of month alone.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings
from icploop.metrics.tables import CanonicalTables


def as_of_view(facts: ir.Table, as_of_m: int) -> ir.Table:
    """The stored facts seen from month ``as_of_m``: later months dropped, a next month after
    ``as_of_m`` read as none (the account's story ends at the as-of month)."""
    rows = facts.filter(facts.m <= as_of_m)
    return rows.mutate(
        nm=ibis.ifelse(rows.nm > as_of_m, ibis.null("int64"), rows.nm),
        c12=ibis.ifelse(rows.m + 12 > as_of_m, ibis.null("int64"), rows.c12),
    )


def stored_facts(tables: CanonicalTables, settings: MovementSettings) -> ir.Table | None:
    """The loader's ``account_months`` when they answer for ``settings`` (the default ones)."""
    if tables.account_months is None or settings != DEFAULT_SETTINGS:
        return None
    return tables.account_months
