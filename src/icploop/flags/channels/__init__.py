"""Delivery channels: a Slack-compatible webhook, email over SMTP, a CRM-note CSV export."""

from icploop.flags.channels.base import Channel, ChannelError
from icploop.flags.channels.settings import ChannelSettings, configured_channels

__all__ = ["Channel", "ChannelError", "ChannelSettings", "configured_channels"]
