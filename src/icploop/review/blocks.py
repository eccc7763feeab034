"""The pack as blocks: what it says, once, for every format.

The layout (``icploop.review.layout``) turns the pack's dict into a :class:`Document` of sections
made of a few kinds of block; the renderers (``icploop.review.render`` for HTML and Markdown,
``icploop.review.pdf`` for PDF) only decide how each kind of block looks. Every text in a block is
already formatted for people (``icploop.formatting``) and is plain text: each renderer escapes it
for its own format, so nothing from the data is ever read as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

#: How a paragraph or a table row stands out: a warning, good news, or a small group.
Tone = str  # "", "flag", "ok", "small"

B = TypeVar("B")


@dataclass_transform(frozen_default=True)
def block(kind: str) -> Callable[[type[B]], type[B]]:
    """A frozen dataclass that is a block of ``kind`` (its ``block`` name, which the HTML and
    Markdown templates switch on)."""

    def make(cls: type[B]) -> type[B]:
        cls.block = kind  # type: ignore[attr-defined]
        return dataclass(frozen=True)(cls)

    return make


@block("heading")
class Heading:
    """A heading inside a section (the section's own title is the section's)."""

    text: str


@block("paragraph")
class Paragraph:
    """A paragraph; ``lead`` is shown in bold before the text."""

    text: str
    lead: str = ""
    tone: Tone = ""


@block("bullets")
class Bullets:
    """A list of short items."""

    items: tuple[str, ...]


@block("table")
class Table:
    """A table of formatted cells; ``tones`` marks rows (same length as ``rows`` or empty).
    The first ``text_columns`` columns are text (left-aligned), the others numbers."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tones: tuple[Tone, ...] = ()
    text_columns: int = 1

    def tone(self, index: int) -> Tone:
        return self.tones[index] if self.tones else ""


@block("chart")
class Chart:
    """One of the pack's charts (``icploop.review.charts``), by name."""

    name: str


@block("caveat")
class Caveat:
    """What the reader must know to read the numbers right (shown in every format)."""

    text: str


@block("proposal")
class Proposal:
    """A proposed decision: its kind, who owns it, its title and the evidence in one sentence."""

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
