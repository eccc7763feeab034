"""Retention metrics: MRR movements, NRR/GRR, logo churn, cohorts, survival and lifetime value.

Every function takes :class:`CanonicalTables` (Ibis tables) and an explicit ``as_of`` date, pushes
the aggregation to the engine, and returns a frozen result or a lazy Ibis table.
"""
