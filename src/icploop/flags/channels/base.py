"""What the outbox needs from a channel: send one payload to one recipient, or raise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ChannelError(Exception):
    """A delivery attempt failed; the message becomes the delivery's ``last_error``.

    Not an ``IcploopError``: the outbox records it and retries, nobody has to act on one attempt.
    """


class Channel(Protocol):
    """A way to reach people; ``name`` matches ``Delivery.channel``."""

    name: str

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None:
        """Deliver ``payload`` to ``recipient`` or raise ``ChannelError`` saying why not.

        ``payload["idempotency_key"]`` is the same on every attempt of one delivery: a channel
        passes it on so that the receiver can drop a message it already has."""
        ...
