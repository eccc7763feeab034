"""The pack as blocks: what it says, once, for every format.

The layout (``icploop.review.layout``) turns the pack's dict into a :class:`Document` of sections
made of a few kinds of block; the renderers (``icploop.review.render`` for HTML and Markdown,
``icploop.review.pdf`` for PDF) only decide how each kind of block looks. Every text in a block is
already formatted for people (``icploop.formatting``) and is plain text: each renderer escapes it
for its own format, so nothing from the data is ever read as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

#: How a paragraph or a table row stands out: a warning, good news, or a small group.
Tone = str  # "", "flag", "ok", "small"


@dataclass(frozen=True)
class Heading:
    """A heading inside a section (the section's own title is the section's)."""

    block: ClassVar[str] = "heading"

    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``lead`` is shown in bold before the text."""

    block: ClassVar[str] = "paragraph"

    text: str
    lead: str = ""
    tone: Tone = ""


@dataclass(frozen=True)
class Bullets:
    """A list of short items."""

    block: ClassVar[str] = "bullets"

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; ``tones`` marks rows (same length as ``rows`` or empty).
    The first ``text_columns`` columns are text (left-aligned), the others numbers."""

    block: ClassVar[str] = "table"

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tones: tuple[Tone, ...] = ()
    text_columns: int = 1

    def tone(self, index: int) -> Tone:
        return self.tones[index] if self.tones else ""


@dataclass(frozen=True)
class Chart:
    """One of the pack's charts (``icploop.review.charts``), by name."""

    block: ClassVar[str] = "chart"

    name: str


@dataclass(frozen=True)
class Caveat:
    """What the reader must know to read the numbers right (shown in every format)."""

    block: ClassVar[str] = "caveat"

    text: str


@dataclass(frozen=True)
class Proposal:
    """A proposed decision: its kind, who owns it, its title and the evidence in one sentence."""

    block: ClassVar[str] = "proposal"

    kind: str
    title: str
    sentence: str
    label: str = ""
    owner: str = ""


Block = Heading | Paragraph | Bullets | Table | Chart | Caveat | Proposal


@dataclass(frozen=True)
class Section:
    """One agenda item: who presents it and its time box in the meeting (``minutes`` from
    ``start``; None for what is read before the meeting)."""

    id: str
    title: str
    presenter: str
    blocks: tuple[Block, ...]
    start: int | None = None
    minutes: int | None = None

    @property
    def time_box(self) -> str:
        if self.start is None or self.minutes is None:
            return "read before the meeting"
        return f"{self.start}-{self.start + self.minutes} min"


@dataclass(frozen=True)
class Document:
    """The whole pack: a title, a line under it, and its sections in order."""

    title: str
    subtitle: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def caveats(self) -> list[str]:
        """Every caveat of the pack, in order (each format must show them all)."""
        return [b.text for s in self.sections for b in s.blocks if isinstance(b, Caveat)]
