"""A Slack-compatible incoming webhook: the ``#icp-signals`` message as text and blocks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from icploop.flags.channels.base import ChannelError


def message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: plain ``text`` for notifications and clients without blocks, and blocks."""
    text = str(payload["text"])
    headline, _, details = text.partition("\n")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
    ]
    if details:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": details}})
    links = payload.get("links") or {}
    if links:
        elements = [
            {"type": "mrkdwn", "text": f"<{url}|{name}>"} for name, url in sorted(links.items())
        ]
        blocks.append({"type": "context", "elements": elements[:10]})  # Slack's limit per block
    return {"text": text, "blocks": blocks}


class WebhookChannel:
    """POSTs JSON to one incoming-webhook URL; any non-2xx answer is a failed attempt."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must be http(s)")
        self._url = url
        self._timeout = timeout

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None:
        """Post the flag message; ``recipient`` names the channel, the URL decides where."""
        body = json.dumps(message(payload)).encode("utf-8")
        request = urllib.request.Request(  # scheme checked in __init__
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                # the same on every attempt of this delivery: a receiver drops a repeat by it
                "Idempotency-Key": str(payload.get("idempotency_key", "")),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"webhook answered HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ChannelError(f"webhook unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook answered HTTP {status}")
