"""The demo company's vocabulary: attribute values, features, reasons and text templates.

Every name here is invented for the demo; person names are generic first-name/surname pairs.
"""

from __future__ import annotations

INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Professional Services",
    "Media",
    "Hospitality",
    "Logistics",
)
INDUSTRY_WEIGHTS = (0.20, 0.13, 0.11, 0.10, 0.11, 0.07, 0.12, 0.06, 0.03, 0.07)

REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (0.55, 0.30, 0.12, 0.03)

LEAD_SOURCES = ("inbound", "outbound", "partner", "events", "intent_vendor")
LEAD_SOURCE_WEIGHTS = (0.34, 0.24, 0.12, 0.11, 0.19)
# mean intent score by lead source: the intent vendor scores its own leads high
INTENT_MEANS = (60.0, 44.0, 55.0, 50.0, 82.0)

USE_CASES = (
    "revenue_forecasting",
    "customer_health",
    "billing_automation",
    "sales_reporting",
    "workflow_automation",
    "data_integration",
)
USE_CASE_WEIGHTS = (0.16, 0.18, 0.15, 0.21, 0.16, 0.14)
# two features per use case, in USE_CASES order
FEATURES = (
    ("forecast_board", "pipeline_scenarios"),
    ("health_scores", "churn_alerts"),
    ("invoice_runs", "dunning"),
    ("dashboards", "scheduled_reports"),
    ("playbooks", "task_routing"),
    ("crm_sync", "warehouse_export"),
)

PLAN_TIERS = ("starter", "growth", "premium")
PRICE_PER_SEAT_USD = (25.0, 40.0, 60.0)
CURRENCIES = ("USD", "EUR", "GBP")
# list prices in local currency are the USD price times this (a price book, not an fx rate)
PRICE_BOOK = (1.0, 0.92, 0.79)
FX_BASE = {"EUR": 1.08, "GBP": 1.26}

CRM_SYSTEMS = ("salesforce", "hubspot", "dynamics", "pipedrive", "zoho")
CRM_WEIGHTS = (0.45, 0.30, 0.10, 0.08, 0.07)

LOST_REASONS = (
    "price",
    "competitor",
    "no_decision",
    "timing",
    "missing_integration",
    "product_gaps",
)
LOST_REASON_WEIGHTS = (0.24, 0.22, 0.22, 0.12, 0.12, 0.08)

CHURN_REASONS = (
    "missing_integration",
    "low_adoption",
    "budget_cuts",
    "champion_left",
    "price",
    "product_gaps",
    "support_quality",
    "acquired",
)
# the baseline mix for churn that no planted mechanism explains
CHURN_REASON_WEIGHTS = (0.30, 0.22, 0.20, 0.04, 0.09, 0.08, 0.03, 0.04)

CHURN_TEXT = {
    "missing_integration": (
        "Customer is leaving: we never delivered the {crm} integration they needed.",
        "Cancelled. Their team could not sync data with {crm}; manual exports were not sustainable.",
        "Churned because the integration with their {crm} instance was promised but not available.",
    ),
    "low_adoption": (
        "Only a handful of users ever logged in; the rollout stalled after onboarding.",
        "Cancelled: usage never took off and the team went back to spreadsheets.",
        "Adoption stayed low all year; no internal owner drove the rollout.",
    ),
    "budget_cuts": (
        "Budget frozen for next fiscal year; all non-core tools cut.",
        "Customer cut software spend across the board after a hiring freeze.",
        "Finance removed the line item in the annual budget review.",
    ),
    "champion_left": (
        "Our champion left the company and nobody picked up the project.",
        "New VP came in after our sponsor moved on and brought their own tool.",
        "Main contact departed; the remaining team did not see the value.",
    ),
    "price": (
        "Renewal price was too high compared with a cheaper alternative.",
        "They asked for a deeper discount at renewal and cancelled when we declined.",
    ),
    "product_gaps": (
        "Missing multi-entity support they need for their structure.",
        "Needed custom objects and advanced permissions we do not offer yet.",
    ),
    "support_quality": (
        "Frustrated with slow responses on their last escalations.",
        "Said support took too long to resolve their issues.",
    ),
    "acquired": (
        "Acquired by a larger company that standardises on another vendor.",
        "Merged with a competitor; consolidating tools under the parent.",
    ),
}
# reason-free churn notes (no tagged code): the text classifier's job
UNTAGGED_CHURN_TEXT = (
    "Customer cancelled at renewal. Exit call scheduled.",
    "Notice of non-renewal received from procurement.",
)

TICKET_CATEGORIES = ("bug", "how-to", "billing", "integration", "performance", "feature-request")
TICKET_CATEGORY_WEIGHTS = (0.24, 0.30, 0.10, 0.14, 0.08, 0.14)
TICKET_TEXT = {
    "bug": ("Dashboard shows wrong totals after filter change", "Export fails with an error"),
    "how-to": ("How do I set up a scheduled report?", "Where can I change user permissions?"),
    "billing": ("Invoice shows the wrong number of seats", "Need a copy of last invoice"),
    "integration": ("CRM sync stopped updating opportunities", "Field mapping for the CRM sync"),
    "performance": ("Reports are slow to load this week", "Timeouts when opening large boards"),
    "feature-request": ("Request: multi-currency forecasts", "Request: custom fields on accounts"),
}
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_WEIGHTS = (0.35, 0.42, 0.18, 0.05)

CSM_TEXT_GOOD = (
    "QBR went well; team uses the product weekly and asked about more seats.",
    "Healthy account. Rollout reached the second team.",
    "Check-in: strong engagement, champion happy with results.",
)
CSM_TEXT_STALLED = (
    "Usage flat since onboarding; only the admin logs in.",
    "Rollout stalled: the team has not connected their data yet.",
    "Check-in: low engagement, they are still evaluating internally.",
)
SALES_TEXT = (
    "Closed after a short evaluation; clear owner on their side.",
    "Committed scope agreed with the buyer; onboarding planned next month.",
    "Buyer compared two vendors; chose us on ease of use.",
)
SALES_OBJECTION_TEXT = "Prospect asked about the {crm} integration; told them it is on the roadmap."

CONTACT_TITLES = (
    "VP Revenue Operations",
    "Head of Customer Success",
    "Sales Operations Manager",
    "Director of Finance",
    "RevOps Analyst",
    "CFO",
)
FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Robin", "Drew", "Kai", "Noor", "Mika", "Ari", "Lena", "Tomas", "Ines", "Yuki",
)  # fmt: skip
LAST_NAMES = (
    "Rivera", "Okafor", "Lindgren", "Novak", "Haddad", "Tanaka", "Moreau", "Brennan", "Castell",
    "Varga", "Osei", "Keller", "Duarte", "Sorensen", "Ibarra", "Whitlow", "Marsh", "Aalto",
)  # fmt: skip
COMPANY_FIRST = (
    "North", "Blue", "Bright", "Clear", "Iron", "Silver", "Green", "Swift", "Stone", "Open",
    "Red", "True", "High", "Deep", "Wild", "Sun",
)  # fmt: skip
COMPANY_SECOND = (
    "wind", "field", "harbor", "peak", "line", "bridge", "works", "gate", "path", "light",
    "forge", "brook", "ridge", "point",
)  # fmt: skip
COMPANY_SUFFIX = ("Inc", "Labs", "Group", "Systems", "Partners", "Co")
CAMPAIGNS = ("webinar-series", "partner-summit", "g2-reviews", "abm-enterprise", "spring-promo")
HOSPITALITY_CAMPAIGN = "hospitality-push-2023"
