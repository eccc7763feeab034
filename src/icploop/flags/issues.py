"""The fit issues a flag may name, with their labels for people: read by the flag records (to
check a new flag) and by the outbox (to count a digest's flags by issue)."""

from __future__ import annotations

FIT_ISSUES = {
    "use_case_mismatch": "use case mismatch",
    "icp_mismatch": "ICP mismatch",
    "champion_vulnerability": "champion vulnerability",
}
