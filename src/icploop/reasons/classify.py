"""Assigning reasons to free text: keyword rules first, then similarity to example sentences.

A text with keyword hits gets the reason with the most hits (ties go to the more similar reason,
then to the taxonomy's order). A text without hits gets the reason of its most similar example
sentence when the cosine similarity reaches the taxonomy's ``min_similarity``; otherwise it
matches no reason and is left for clustering. Vectors come from :class:`TfidfVectors` (word
stems and stem pairs fitted on the taxonomy's examples and labels), so classification needs no
model file and no network; ``docs/reasons.md`` says why no sentence-embedding model is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from icploop.reasons.taxonomy import Taxonomy
from icploop.reasons.vectors import TfidfVectors

KEYWORD = "keyword"
SIMILARITY = "similarity"
NONE = "none"


@dataclass(frozen=True)
class Match:
    """The reason of one text (``None`` when nothing matched), how it was found, and a score
    (keyword hits, or the cosine similarity of the nearest example)."""

    reason: str | None
    method: str
    score: float


class ReasonClassifier:
    """Keyword rules plus example similarity over one taxonomy.

    ``fit()`` compiles the rules and the example vectors and returns self; ``predict(texts)``
    returns one :class:`Match` per text. Repeated texts are classified once.
    """

    def __init__(self, taxonomy: Taxonomy, min_similarity: float | None = None) -> None:
        self.taxonomy = taxonomy
        self.min_similarity = (
            taxonomy.min_similarity if min_similarity is None else float(min_similarity)
        )

    def fit(self) -> ReasonClassifier:
        self.codes_ = self.taxonomy.codes
        self.patterns_ = [r.patterns() for r in self.taxonomy.reasons]
        examples: list[str] = []
        owners: list[int] = []
        for i, r in enumerate(self.taxonomy.reasons):
            for text in (*r.examples, r.label):
                examples.append(text)
                owners.append(i)
        self.vectors_ = TfidfVectors().fit(examples)
        self.example_matrix_ = self.vectors_.transform(examples)
        self.example_owner_ = np.asarray(owners)
        return self

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x reasons) the best cosine similarity to any example of each reason."""
        sims = (self.vectors_.transform(texts) @ self.example_matrix_.T).toarray()
        out = np.zeros((len(texts), len(self.codes_)))
        for j in range(len(self.codes_)):
            cols = self.example_owner_ == j
            if cols.any():
                out[:, j] = sims[:, cols].max(axis=1)
        return out

    def predict(self, texts: Sequence[str]) -> list[Match]:
        if not hasattr(self, "codes_"):
            self.fit()
        unique = list(dict.fromkeys(t or "" for t in texts))
        if not unique:
            return []
        sims = self.similarities(unique)
        by_text: dict[str, Match] = {}
        for i, text in enumerate(unique):
            hits = np.array([sum(1 for p in pats if p.search(text)) for pats in self.patterns_])
            if hits.max(initial=0) > 0:
                best = np.flatnonzero(hits == hits.max())
                j = int(best[np.argmax(sims[i, best])])
                by_text[text] = Match(self.codes_[j], KEYWORD, float(hits[j]))
                continue
            j = int(np.argmax(sims[i]))
            if text.strip() and sims[i, j] >= self.min_similarity:
                by_text[text] = Match(self.codes_[j], SIMILARITY, float(sims[i, j]))
            else:
                by_text[text] = Match(None, NONE, float(sims[i, j]))
        return [by_text[t or ""] for t in texts]


def accuracy(predicted: Sequence[str | None], expected: Sequence[str | None]) -> float:
    """Share of texts whose predicted reason equals the label (``None`` = matches no reason)."""
    if not expected:
        return float("nan")
    return sum(p == e for p, e in zip(predicted, expected, strict=True)) / len(expected)
