"""A CSV of CRM notes (account_id, note_date, author, subject, body), ready for a CRM import."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from icploop.flags.channels.base import ChannelError

COLUMNS = ("account_id", "note_date", "author", "subject", "body")


class CrmCsvChannel:
    """Appends one note row per delivery to one file; the header is written once, when new."""

    name = "crm_csv"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None:
        """Append the flag as a note on its account (``recipient`` is the AE it is meant for)."""
        row = {
            "account_id": payload["account_id"],
            "note_date": payload["note_date"],
            "author": payload["author"],
            "subject": payload["subject"],
            "body": payload["text"],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            with self.path.open("a", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerow(row)
        except OSError as exc:
            raise ChannelError(f"cannot append to {self.path}: {exc}") from exc
