"""Email over SMTP: the flag in its plain-text format, one message per recipient."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from icploop.flags.channels.base import ChannelError


class EmailChannel:
    """Sends through one SMTP server; the recipient's address travels in the payload."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._user = user
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None:
        """Mail the flag to the address in ``payload['email']`` (the person ``recipient``)."""
        address = payload.get("email")
        if not address:
            raise ChannelError(f"no email address for {recipient!r}")
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = str(address)
        message["Subject"] = str(payload["subject"])
        key = payload.get("idempotency_key")
        if key:
            # one Message-ID per delivery, on every attempt: mail systems drop a repeat by it
            message["Message-ID"] = f"<{key}@icploop>"
            message["X-Icploop-Idempotency-Key"] = str(key)
        message.set_content(str(payload["text"]) + "\n")
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._user and self._password:
                    smtp.login(self._user, self._password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP {self._host}:{self._port}: {exc}") from exc
