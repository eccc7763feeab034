"""docs/data-model.md documents every canonical table and column of the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icploop.ingest.schema import TABLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `([a-z_]+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("table", list(TABLES))
def test_every_schema_column_is_documented_under_its_table(table: str) -> None:
    documented = sections()
    assert table in documented, f"docs/data-model.md has no section for {table}"
    columns = set(re.findall(r"^\| `([a-z_]+)` \|", documented[table], flags=re.MULTILINE))
    missing = set(TABLES[table].column_names) - columns
    assert not missing, f"{table} columns missing from docs/data-model.md: {sorted(missing)}"
