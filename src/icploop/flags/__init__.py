"""Bad-fit flags: records, routing, the outbox and delivery channels."""

from icploop.flags.credibility import FlaggerCredibility, flagger_credibility, score_flaggers
from icploop.flags.drafts import draft_flag
from icploop.flags.issues import FIT_ISSUES
from icploop.flags.outbox import (
    DeliveryRun,
    deliver_due,
    reclaim_expired,
    requeue,
    stuck_deliveries,
)
from icploop.flags.people import SyncReport, sync_people
from icploop.flags.records import (
    SendResult,
    create_flag,
    edit_evidence,
    format_flag,
    send_flag,
)
from icploop.flags.routing import RoutingRules, load_routing, resolve_recipients

__all__ = [
    "FIT_ISSUES",
    "DeliveryRun",
    "FlaggerCredibility",
    "RoutingRules",
    "SendResult",
    "SyncReport",
    "create_flag",
    "deliver_due",
    "draft_flag",
    "edit_evidence",
    "flagger_credibility",
    "format_flag",
    "load_routing",
    "reclaim_expired",
    "requeue",
    "resolve_recipients",
    "score_flaggers",
    "send_flag",
    "stuck_deliveries",
    "sync_people",
]
