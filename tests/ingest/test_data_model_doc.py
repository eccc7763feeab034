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


def test_the_attribute_roles_table_gives_each_account_and_deal_column_its_schema_role() -> None:
    from icploop.ingest.schema import ACCOUNTS, DEALS

    text = DOC.read_text(encoding="utf-8").split("## Attribute roles", 1)[1]
    header = re.search(r"^\| table \| (.+) \|$", text, flags=re.MULTILINE)
    assert header, "the roles table has a header row"
    roles = [r.strip() for r in header[1].split("|")]
    for table in (ACCOUNTS, DEALS):
        row = re.search(rf"^\| {table.name} \| (.+) \|$", text, flags=re.MULTILINE)
        assert row, f"no roles row for {table.name}"
        cells = [c.strip() for c in row[1].split("|")]
        documented = {
            name: role
            for role, cell in zip(roles, cells, strict=True)
            for name in re.findall(r"`([a-z_]+)`", cell)
        }
        assert documented == {c.name: c.role for c in table.columns}, table.name
