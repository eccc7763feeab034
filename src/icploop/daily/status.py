"""What the workspace's delivery channels can do here, for ``icploop status`` and the web app."""

from __future__ import annotations

from typing import Any

from icploop.config import Settings
from icploop.errors import IcploopError
from icploop.flags.channels import ChannelSettings, configured_channels
from icploop.flags.outbox import channel_status
from icploop.store.database import open_store


def channel_report(settings: Settings) -> list[dict[str, Any]]:
    """Each delivery channel: whether it can deliver here, why not, and what waits for it."""
    configured = configured_channels(ChannelSettings(), settings.workspace)
    try:
        factory = open_store(settings)
    except IcploopError as exc:  # the warehouse's status still shows; the channels are unknown
        line = f"delivery channels: unknown, the app store cannot be opened ({exc})"
        return [{"channel": None, "configured": None, "waiting": None, "why": str(exc),
                 "line": line}]  # fmt: skip
    with factory() as session:
        return [
            {"channel": s.channel, "configured": s.configured, "waiting": s.waiting,
             "why": s.why, "line": s.line()}
            for s in channel_status(session, configured)
        ]  # fmt: skip
