"""Retention metrics: MRR movements, NRR/GRR, logo churn, cohorts, survival and lifetime value."""
