"""The canonical data model: the tables every analysis reads, as data.

Each table lists its columns with type, whether required, and meaning; its key (rows with the
same key replace each other on a later load, which makes loads idempotent and lets new months
append); and its references to other tables. ``docs/data-model.md`` documents the same model and
a test keeps the two in step.

Types: ``string``, ``int``, ``float``, ``decimal`` (money, 2 decimal places in the stated
currency), ``date`` (ISO ``YYYY-MM-DD``), ``bool`` (true/false, yes/no, 1/0), ``list`` (text
items separated by ``;``). Money is in the currency of the row's ``currency`` column (or the
account's), converted to the reporting currency by the ``fx_rates`` table at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

ColumnType = Literal["string", "int", "float", "decimal", "date", "bool", "list"]

#: What an account or deal column is for (``docs/data-model.md``, "Attribute roles"):
#: ``dimension`` (values that name groups: searched as segments), ``measure`` (a number: cut at
#: its quantiles), ``identifier`` (names one row: never searched), ``date`` (places a row in
#: time: never searched), ``label`` (an outcome: never searched, never a model feature).
AttributeRole = Literal["dimension", "measure", "identifier", "date", "label"]
ATTRIBUTE_ROLES: tuple[AttributeRole, ...] = get_args(AttributeRole)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: the attribute role of an account or deal column (None on the other tables)
    role: AttributeRole | None = None
    #: names a person of the team (AE, CSM): may be searched, never a model feature or points
    person: bool = False


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    # (earlier, later): rows where both are present must have earlier <= later
    date_order: tuple[tuple[str, str], ...] = ()
    # accounts keep unmapped source columns as extra attributes (usable as segment dimensions)
    keeps_extra_columns: bool = False
    derived: bool = False  # built by the loader from other tables, never loaded directly

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


# Absurdity bounds: a single account's MRR above this is a unit mistake (cents as dollars), not data.
MAX_MRR = 10_000_000.0

FIT_TAGS = ("strong_fit", "near_fit", "bad_fit")
ROLES = ("ae", "sales_manager", "csm", "cs_manager", "revops", "marketing", "admin")

ACCOUNTS = Table(
    name="accounts",
    description="One row per customer or prospect company.",
    key=("account_id",),
    keeps_extra_columns=True,
    columns=(
        Column(
            "account_id",
            "string",
            "stable identifier from the CRM",
            required=True,
            role="identifier",
        ),
        Column("name", "string", "company name", role="identifier"),
        Column("industry", "string", "industry as the CRM records it", role="dimension"),
        Column("employees", "int", "employee count at close", minimum=0, role="measure"),
        Column(
            "employee_band",
            "string",
            "employee band when no count is known, e.g. 51-200",
            role="dimension",
        ),
        Column("region", "string", "sales region or country", role="dimension"),
        Column(
            "segment",
            "string",
            "the company's own segment label (SMB, Mid-Market, Enterprise)",
            role="dimension",
        ),
        Column(
            "lead_source",
            "string",
            "where the lead came from (inbound, outbound, partner, intent)",
            role="dimension",
        ),
        Column(
            "intent_score",
            "float",
            "what an intent or lookalike tool scored the lead at the time (0-100)",
            minimum=0,
            maximum=100,
            role="measure",
        ),
        Column(
            "owner_ae",
            "string",
            "AE who owns or closed the account (org person id)",
            role="dimension",
            person=True,
        ),
        Column(
            "csm",
            "string",
            "CSM who owns the account (org person id)",
            role="dimension",
            person=True,
        ),
        Column(
            "cs_manager",
            "string",
            "the CSM's manager (org person id); else taken from org",
            role="dimension",
            person=True,
        ),
        Column(
            "seats_at_close", "int", "seats bought at the first won deal", minimum=0, role="measure"
        ),
        Column("use_case", "string", "the primary use case stated at close", role="dimension"),
        Column(
            "currency",
            "string",
            "ISO 4217 code of the account's billing currency",
            role="dimension",
        ),
        Column("created_date", "date", "when the account record was created", role="date"),
    ),
)

DEALS = Table(
    name="deals",
    description="Opportunities: won, lost and open. The first won deal's close date starts the account's cohort.",
    key=("deal_id",),
    references=(Reference("account_id", "accounts", "account_id"),),
    date_order=(("created_date", "close_date"),),
    columns=(
        Column(
            "deal_id", "string", "stable identifier from the CRM", required=True, role="identifier"
        ),
        Column(
            "account_id", "string", "the account the deal is for", required=True, role="identifier"
        ),
        Column("created_date", "date", "when the opportunity was created", role="date"),
        Column(
            "close_date", "date", "close date (expected close date for open deals)", role="date"
        ),
        Column(
            "outcome",
            "string",
            "stage outcome",
            required=True,
            allowed=("won", "lost", "open"),
            role="label",
        ),
        Column(
            "amount",
            "decimal",
            "contract value per year (ACV) in the deal currency",
            minimum=0,
            role="measure",
        ),
        Column(
            "list_price",
            "decimal",
            "list price of the same contract per year",
            minimum=0,
            role="measure",
        ),
        Column(
            "discount",
            "float",
            "discount off list as a fraction 0-1",
            minimum=0,
            maximum=1,
            role="measure",
        ),
        Column("currency", "string", "ISO 4217 code of amount and list_price", role="dimension"),
        Column("ae", "string", "AE on the deal (org person id)", role="dimension", person=True),
        Column(
            "deal_type",
            "string",
            "kind of deal",
            allowed=("new", "expansion", "renewal"),
            role="dimension",
        ),
        Column(
            "committed_use_cases",
            "list",
            "use cases the AE committed to, ';'-separated",
            role="dimension",
        ),
        Column("lost_reason", "string", "why a lost deal was lost", role="label"),
        Column("lead_source", "string", "lead source of this opportunity", role="dimension"),
        Column("campaign", "string", "marketing campaign that sourced it", role="dimension"),
        Column("seats", "int", "seats in the deal", minimum=0, role="measure"),
    ),
)

DEAL_USE_CASES = Table(
    name="deal_use_cases",
    description="Derived: one row per deal and committed use case (from deals.committed_use_cases).",
    key=("deal_id", "use_case"),
    derived=True,
    columns=(
        Column("deal_id", "string", "the deal", required=True),
        Column("account_id", "string", "the deal's account", required=True),
        Column("use_case", "string", "one committed use case", required=True),
    ),
)

SUBSCRIPTIONS = Table(
    name="subscriptions",
    description=(
        "Recurring revenue: one row per subscription service period (or per month). "
        "A period counts in month M when it is active on M's last day."
    ),
    key=("subscription_id", "period_start"),
    references=(Reference("account_id", "accounts", "account_id"),),
    date_order=(("period_start", "period_end"),),
    columns=(
        Column(
            "subscription_id",
            "string",
            "line item id; defaults to account_id (one subscription per account)",
        ),
        Column("account_id", "string", "the paying account", required=True),
        Column("period_start", "date", "first day of the service period", required=True),
        Column("period_end", "date", "last day of the service period (inclusive); blank = ongoing"),
        Column(
            "mrr",
            "decimal",
            "recurring amount normalised to a month (annual / 12), net of discounts, in `currency`",
            required=True,
            minimum=0,
            maximum=MAX_MRR,
        ),
        Column("currency", "string", "ISO 4217 code of mrr; default the account's, else reporting"),
        Column("discount_mrr", "decimal", "monthly discount already taken off mrr", minimum=0),
        Column(
            "discount_kind",
            "string",
            "how long the discount lasts (blank = forever)",
            allowed=("forever", "limited"),
        ),
        Column(
            "charge_type",
            "string",
            "only recurring charges count as MRR",
            allowed=("recurring", "one_time", "metered", "trial", "tax"),
        ),
        Column("plan", "string", "plan or product name"),
        Column("seats", "int", "seats in the period", minimum=0),
        Column("billing_period_months", "int", "1 monthly, 12 annual, 24/36 multi-year", minimum=1),
        Column("cancel_requested_date", "date", "when the customer asked to cancel"),
    ),
)

MRR_MONTHLY = Table(
    name="mrr_monthly",
    description=(
        "Derived at load: each account's recurring MRR per calendar month (month = first day), "
        "in its own currency and in the reporting currency at the rate of each period's start."
    ),
    key=("account_id", "month"),
    derived=True,
    columns=(
        Column("account_id", "string", "the account", required=True),
        Column("month", "date", "first day of the calendar month", required=True),
        Column("mrr_local", "float", "MRR in the account's currency", required=True),
        Column("currency", "string", "the account's currency", required=True),
        Column(
            "mrr", "float", "MRR net of all discounts, in the reporting currency", required=True
        ),
        Column("discount_forever", "float", "forever discounts taken off mrr (reporting currency)"),
        Column(
            "discount_limited", "float", "limited-time discounts taken off mrr (reporting currency)"
        ),
        Column("seats", "int", "seats across active subscriptions"),
    ),
)

USAGE = Table(
    name="usage",
    description="Product usage at daily or weekly grain, by feature (and the use case it serves).",
    key=("account_id", "date", "feature"),
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("account_id", "string", "the account", required=True),
        Column("date", "date", "day (or first day of the week) of the activity", required=True),
        Column("feature", "string", "feature or module used", required=True),
        Column("use_case", "string", "the use case the feature serves"),
        Column("active_users", "int", "distinct active users", minimum=0),
        Column("events", "int", "events or actions", minimum=0),
    ),
)

CONTACTS = Table(
    name="contacts",
    description="People at the account over time: role changes and departures are new rows or end dates.",
    key=("contact_id", "valid_from"),
    references=(Reference("account_id", "accounts", "account_id"),),
    date_order=(("valid_from", "valid_to"),),
    columns=(
        Column("contact_id", "string", "the person", required=True),
        Column("account_id", "string", "their company", required=True),
        Column("name", "string", "their name"),
        Column("title", "string", "role or title in this period"),
        Column("is_champion", "bool", "our champion in this period"),
        Column("valid_from", "date", "first day this row holds", required=True),
        Column("valid_to", "date", "last day this row holds (inclusive); blank = still true"),
    ),
)

TICKETS = Table(
    name="tickets",
    description="Support tickets.",
    key=("ticket_id",),
    references=(Reference("account_id", "accounts", "account_id"),),
    date_order=(("created_date", "resolved_date"),),
    columns=(
        Column("ticket_id", "string", "ticket id", required=True),
        Column("account_id", "string", "the account", required=True),
        Column("created_date", "date", "opened", required=True),
        Column("resolved_date", "date", "resolved; blank = open"),
        Column("category", "string", "ticket category (bug, how-to, billing, integration, ...)"),
        Column("priority", "string", "priority", allowed=("low", "medium", "high", "urgent")),
        Column(
            "csat", "float", "satisfaction score given on the ticket (1-5)", minimum=1, maximum=5
        ),
        Column("text", "string", "subject and description"),
    ),
)

NOTES = Table(
    name="notes",
    description="CSM notes, sales notes and recorded churn reasons.",
    key=("note_id",),
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("note_id", "string", "note id", required=True),
        Column("account_id", "string", "the account", required=True),
        Column("date", "date", "when it was written", required=True),
        Column("author", "string", "who wrote it (org person id)"),
        Column(
            "kind",
            "string",
            "what the note is",
            required=True,
            allowed=("churn_reason", "csm_note", "sales_note", "lost_reason"),
        ),
        Column("reason_code", "string", "a tagged reason from the taxonomy, when there is one"),
        Column("text", "string", "the note"),
    ),
)

COSTS = Table(
    name="costs",
    description="Cost to serve: hours or amounts spent on an account per month and team.",
    key=("account_id", "month", "team"),
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("account_id", "string", "the account", required=True),
        Column("month", "date", "first day of the month", required=True),
        Column(
            "team",
            "string",
            "who spent it",
            required=True,
            allowed=("cs", "support", "services", "product"),
        ),
        Column("hours", "float", "hours spent", minimum=0),
        Column(
            "amount",
            "decimal",
            "cost in money, when known (else hours x the team's rate)",
            minimum=0,
        ),
        Column("currency", "string", "ISO 4217 code of amount"),
    ),
)

ORG = Table(
    name="org",
    description="The revenue team: who has which role and reports to whom (for routing flags).",
    key=("person_id",),
    columns=(
        Column(
            "person_id",
            "string",
            "identifier used in accounts and deals (e.g. email)",
            required=True,
        ),
        Column("name", "string", "display name"),
        Column("email", "string", "email address for notifications"),
        Column("role", "string", "role in the loop", required=True, allowed=ROLES),
        Column("manager_id", "string", "their manager's person_id"),
    ),
)

FX_RATES = Table(
    name="fx_rates",
    description="Exchange rates into the reporting currency, effective from a date until the next row.",
    key=("currency", "valid_from"),
    columns=(
        Column("currency", "string", "ISO 4217 code", required=True),
        Column("valid_from", "date", "first day the rate applies", required=True),
        Column(
            "rate",
            "float",
            "reporting-currency units per one unit of `currency`",
            required=True,
            minimum=0,
        ),
    ),
)

ACCOUNT_ATTRIBUTES = Table(
    name="account_attributes",
    description="Derived: extra account columns kept from the source, one row per account and attribute.",
    key=("account_id", "attribute"),
    derived=True,
    columns=(
        Column("account_id", "string", "the account", required=True),
        Column("attribute", "string", "the source column name (snake_case)", required=True),
        Column("value", "string", "its value as text", required=True),
    ),
)

ATTRIBUTE_ROLE_OVERRIDES = Table(
    name="attribute_roles",
    description=(
        "Derived: attribute roles set by a mapping's `role:`; they override the schema's role "
        "and the inferred one."
    ),
    key=("source_table", "attribute"),
    derived=True,
    columns=(
        Column("source_table", "string", "accounts or deals", required=True),
        Column(
            "attribute",
            "string",
            "the canonical column or the extra attribute (snake_case)",
            required=True,
        ),
        Column("role", "string", "its role", required=True, allowed=ATTRIBUTE_ROLES),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ACCOUNTS,
        DEALS,
        DEAL_USE_CASES,
        SUBSCRIPTIONS,
        MRR_MONTHLY,
        USAGE,
        CONTACTS,
        TICKETS,
        NOTES,
        COSTS,
        ORG,
        FX_RATES,
        ACCOUNT_ATTRIBUTES,
        ATTRIBUTE_ROLE_OVERRIDES,
    )
}
LOADABLE_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if not t.derived)

# Currencies the loader accepts (ISO 4217, the ones B2B SaaS bills in); extend when needed.
KNOWN_CURRENCIES = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "CAD",
        "AUD",
        "NZD",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "JPY",
        "CNY",
        "HKD",
        "SGD",
        "INR",
        "BRL",
        "MXN",
        "ZAR",
        "ILS",
        "AED",
        "KRW",
    ]
)
