"""The pack as PDF, with fpdf2 (pure Python: no system libraries), drawn from the same blocks as
the HTML and the Markdown (``icploop.review.layout``), charts as PNG images.

fpdf2's built-in Helvetica covers Latin-1 only, so text is folded to Latin-1 (dashes, arrows and
other symbols become their nearest ASCII) rather than embedding a font file. Table columns are
at least as wide as their longest word, so an e-mail address or a name never breaks mid-word.
"""

from __future__ import annotations

import io
from typing import Any

from icploop.errors import IcploopError
from icploop.review import blocks

_FOLD = str.maketrans(
    {"–": "-", "—": "-", "≥": ">=", "≤": "<=", "×": "x", "’": "'", "“": '"', "”": '"', "…": "..."}
)
FONT = "Helvetica"
#: font sizes tried for a table, largest first, until its longest words fit the page
TABLE_SIZES = (9.0, 8.0, 7.0, 6.0, 5.0)
CELL_PADDING = 1.0  # mm on each side of a cell's text
FLAG = (198, 40, 40)
GREY = (150, 150, 150)
CAVEAT = (138, 109, 59)


def _text(value: Any) -> str:
    return str(value).translate(_FOLD).encode("latin-1", "replace").decode("latin-1")


def render_pdf(document: blocks.Document, charts: dict[str, dict[str, Any]]) -> bytes:
    """The pack's blocks as PDF bytes; an IcploopError naming the package when fpdf2 is
    missing. A section whose ``id`` is ``executive`` fills the first page by itself."""
    try:
        from fpdf import FPDF
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise IcploopError(
            "PDF output needs the Python package fpdf2, which is not installed",
            "pip install fpdf2, or build --format html,md,json",
        ) from exc
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "B", 18)
    pdf.cell(0, 10, _text(document.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, _text(document.subtitle), new_x="LMARGIN", new_y="NEXT")
    for number, section in enumerate(document.sections, start=1):
        _section(pdf, number, section, charts)
        if section.id == "executive":
            pdf.add_page()
    return bytes(pdf.output())


def _section(
    pdf: Any, number: int, section: blocks.Section, charts: dict[str, dict[str, Any]]
) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, "B", 14)
    title = f"{number}. {section.title} ({section.presenter}, {section.time_box})"
    pdf.multi_cell(0, 7, _text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    for block in section.blocks:
        _block(pdf, block, charts)


def _para(pdf: Any, text: str, style: str = "", size: float = 9, colour: Any = None) -> None:
    pdf.set_font(FONT, style, size)
    if colour:
        pdf.set_text_color(*colour)
    pdf.multi_cell(0, 4.6, _text(text), new_x="LMARGIN", new_y="NEXT", markdown=False)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def _block(pdf: Any, b: blocks.Block, charts: dict[str, dict[str, Any]]) -> None:
    if isinstance(b, blocks.Heading):
        _para(pdf, b.text, "B", 10.5)
    elif isinstance(b, blocks.Paragraph):
        text = f"{b.lead} {b.text}" if b.lead else b.text
        _para(pdf, text, "B" if b.tone == "flag" else "", colour=FLAG if b.tone == "flag" else None)
    elif isinstance(b, blocks.Bullets):
        for item in b.items:
            _para(pdf, f"- {item}")
    elif isinstance(b, blocks.Table):
        _table(pdf, b)
    elif isinstance(b, blocks.Caveat):
        _para(pdf, f"caveat: {b.text}", "I", 8.5, CAVEAT)
    elif isinstance(b, blocks.Proposal):
        tags = " - ".join(x for x in (b.kind, b.label, f"owner: {b.owner}" if b.owner else "") if x)
        _para(pdf, b.title, "B", 10)
        _para(pdf, tags, "I", 8)
        _para(pdf, b.sentence)
    elif isinstance(b, blocks.Chart) and b.name in charts:
        pdf.image(io.BytesIO(charts[b.name]["png"]), w=165)


def _widths(pdf: Any, table: blocks.Table, room: float) -> tuple[float, list[float]]:
    """The largest font size at which every column is as wide as its longest word, and the
    columns' widths (the rest of ``room`` shared by how much longer each column's text is)."""
    columns = list(zip(table.header, *table.rows, strict=True))
    for size in TABLE_SIZES:
        pdf.set_font(FONT, "B", size)
        least = []
        most = []
        for column in columns:
            words = [w for cell in column for w in _text(cell).split()] or [""]
            least.append(max(pdf.get_string_width(w) for w in words) + 2 * CELL_PADDING)
            most.append(max(pdf.get_string_width(_text(c)) for c in column) + 2 * CELL_PADDING)
        if sum(least) <= room or size == TABLE_SIZES[-1]:
            break
    spare = max(room - sum(least), 0.0)
    want = [m - low for m, low in zip(most, least, strict=True)]
    extra = [spare * w / sum(want) if sum(want) else 0.0 for w in want]
    widths = [low + e for low, e in zip(least, extra, strict=True)]
    if sum(most) <= room:  # everything fits on one line: no need to fill the page
        widths = most
    # the shares of the spare room may sum to a hair over it in floating point
    return size, [w * min(1.0, room / sum(widths)) for w in widths]


def _table(pdf: Any, table: blocks.Table) -> None:
    from fpdf.fonts import FontFace

    if not table.rows:
        return
    size, widths = _widths(pdf, table, pdf.epw)
    pdf.set_font(FONT, "", size)
    with pdf.table(
        width=min(sum(widths), pdf.epw),
        col_widths=tuple(widths),
        align="LEFT",
        line_height=size * 0.5,
        padding=(0.6, CELL_PADDING),
        first_row_as_headings=True,
    ) as grid:
        for index, row in enumerate([table.header, *table.rows]):
            colour = {"small": GREY, "flag": FLAG}.get(table.tone(index - 1)) if index else None
            cells = grid.row(style=FontFace(color=colour) if colour else None)
            for column, value in enumerate(row):
                cells.cell(_text(value), align="LEFT" if column < table.text_columns else "RIGHT")
    pdf.ln(2)
