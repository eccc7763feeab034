"""Property: any malformed file either loads correctly or is refused cleanly, never half-stored."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icploop.errors import IcploopError
from icploop.ingest.load import load_paths

from .conftest import snapshot

HEADERS = ["account_id", "name", "employees", "intent_score", "created_date", "account_id"]
cell = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2024-02-30", "0001-01-01", "2024-01-01", "", '"', "a,b", "\r"]),
)
row = st.lists(cell, min_size=0, max_size=6).map(lambda cells: ",".join(cells))
csv_text = st.builds(
    lambda header, rows, crlf: ("\r\n" if crlf else "\n").join([",".join(header), *rows]),
    st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    st.lists(row, max_size=6),
    st.booleans(),
)
content = st.one_of(
    csv_text.map(lambda t: t.encode("utf-8")),
    csv_text.map(lambda t: t.encode("utf-16")),
    csv_text.map(lambda t: t.encode("latin-1", errors="replace")),
    st.binary(max_size=200),
    st.just(b""),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=content, second=content)
def test_malformed_files_load_or_are_refused_without_a_partial_load(
    first: bytes, second: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backend = ibis.duckdb.connect(str(folder / "analytics.duckdb"))
        good = folder / "good"
        good.mkdir()
        (good / "accounts.csv").write_text("account_id,name\nseed,Seed\n")
        load_paths(backend, [good])
        before = snapshot(backend)
        data = folder / "in"
        data.mkdir()
        (data / "accounts.csv").write_bytes(first)
        (data / "deals.csv").write_bytes(second)
        try:
            load_paths(backend, [data])
        except IcploopError:
            assert snapshot(backend) == before
        else:
            con = backend.con  # type: ignore[attr-defined]
            assert con.execute(
                "SELECT count(*) FROM accounts WHERE account_id = 'seed'"
            ).fetchall() == [(1,)]
