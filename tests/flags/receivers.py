"""Real local receivers started by the tests: an HTTP webhook endpoint and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class WebhookReceiver:
    """Answers with ``statuses`` in turn (then 200) and keeps every JSON body it was sent, with
    its ``Idempotency-Key``; ``kept`` is what a receiver that drops repeats by that key keeps."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 with an OS-chosen port, in a thread, for one test."""
    receiver = WebhookReceiver(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            assert self.headers.get("Content-Type", "").startswith("application/json")
            body = json.loads(self.rfile.read(length))
            receiver.bodies.append(body)
            key = self.headers.get("Idempotency-Key", "")
            receiver.keys.append(key)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            if status == 200 and key and key not in receiver.kept:
                receiver.kept[key] = body
            receiver.answered.append(status)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"error")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/icp-signals"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class MailSink:
    """An aiosmtpd handler keeping each message's envelope."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to its port, so port 0 will not do
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """A real SMTP server on 127.0.0.1 for one test: the sink and its port."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
