"""Every rendered output reads as people write numbers: no raw floats, no midnight timestamps,
no "nan", and no e-mail address broken across lines, in every format of the pack and in the
CLI's text output on the demo company."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from icploop.review.render import write_pack

RAW_FLOAT = re.compile(r"\d\.\d{5,}")
TIMESTAMP = re.compile(r"\b00:00:00\b")
NAN = re.compile(r"\b(?:nan|NaN|NaT|inf)\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def raw_values(text: str) -> list[str]:
    """What in ``text`` is a value as the machine holds it rather than as a person reads it."""
    return [m.group(0) for p in (RAW_FLOAT, TIMESTAMP, NAN) for m in p.finditer(text)]


def test_the_scan_finds_what_it_looks_for() -> None:
    leaks = raw_values("NRR 0.9670442842430484 at 2026-09-30 00:00:00, churn nan")
    assert leaks == ["0.9670442842430484", "00:00:00", "nan"]
    assert raw_values("NRR 97% on 2026-09-30, q <0.001, 1,234 USD, Financial") == []


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_no_format_of_the_pack_shows_a_raw_value_or_breaks_an_address(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    md, page, pdf = write_pack(demo_pack, ["md", "html", "pdf"], tmp_path)
    markdown = md.read_text()
    shown = html.unescape(re.sub(r"<svg.*?</svg>|<style>.*?</style>|<[^>]+>", " ",
                                 page.read_text(), flags=re.S))  # fmt: skip
    printed = _pdf_text(pdf)
    for name, text in (("Markdown", markdown), ("HTML", shown), ("PDF", printed)):
        assert raw_values(text) == [], name
    addresses = set(EMAIL.findall(markdown))
    assert addresses, "the demo pack names its AEs by e-mail address"
    for address in addresses:  # each whole on one line of the PDF
        assert address in printed, address


CLI_COMMANDS = (
    ["status"],
    ["metrics"],
    ["metrics", "--by", "segment"],
    ["segments"],
    ["survival", "--by", "segment"],
    ["reasons"],
    ["cost"],
    ["scorecard"],
)


def test_the_clis_text_output_shows_no_raw_value(demo_warehouse: Path, tmp_path: Path) -> None:
    from icploop.cli.main import app

    workspace = tmp_path / "ws"
    workspace.mkdir()
    shutil.copy(demo_warehouse, workspace / "analytics.duckdb")
    runner = CliRunner()
    for command in CLI_COMMANDS:
        result = runner.invoke(app, [*command, "--workspace", str(workspace)])
        assert result.exit_code == 0, (command, result.output)
        assert raw_values(result.output) == [], command
        assert result.output.strip(), command
