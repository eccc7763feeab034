"""A CSV of CRM notes (account_id, note_date, author, subject, body), ready for a CRM import."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from icploop.flags.channels.base import ChannelError
from icploop.spreadsheet import neutralise

COLUMNS = ("account_id", "note_date", "author", "subject", "body", "note_id")


class CrmCsvChannel:
    """Appends one note row per delivery to one file; the header is written once, when new.

    ``note_id`` is the delivery's idempotency key: a note whose id the file already holds is
    not appended again (a run that died after writing it is resent), and a CRM import can
    upsert on it. A file begun before ``note_id`` existed keeps its columns."""

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
            "note_id": payload.get("idempotency_key", ""),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            columns = list(COLUMNS) if new else self._header()
            if row["note_id"] and not new and row["note_id"] in self._note_ids(columns):
                return
            with self.path.open("a", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
                if new:
                    writer.writeheader()
                # the notes are opened in spreadsheets: no cell may run as a formula
                writer.writerow({k: neutralise(v) for k, v in row.items()})
        except OSError as exc:
            raise ChannelError(f"cannot append to {self.path}: {exc}") from exc

    def _header(self) -> list[str]:
        with self.path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), list(COLUMNS))

    def _note_ids(self, columns: list[str]) -> set[str]:
        if "note_id" not in columns:
            return set()
        with self.path.open(newline="", encoding="utf-8") as handle:
            return {r.get("note_id") or "" for r in csv.DictReader(handle)}
