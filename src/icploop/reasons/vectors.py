"""Text vectors for similarity and clustering: TF-IDF over word stems and stem pairs.

Words are lower-cased, stop words dropped and crudely stemmed (common suffixes cut, then at most
six letters kept), so "integrate", "integration" and "integrations" share a term without a
stemmer library or a vocabulary file; adjacent stem pairs add a little word order. Vectors are
L2-normalised over every term of the text, including terms the fitted vocabulary lacks (weighted
as the rarest known term): a text that shares one word with an example but says much else is not
mistaken for it. Nothing is downloaded or read from disk.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix

Matrix = Any  # scipy.sparse.csr_matrix (untyped)
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "with",
        "who",
        "which",
        "that",
        "there",
        "than",
        "then",
        "so",
        "not",
        "no",
        "all",
        "any",
    ]
)


_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ers", "er", "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """A crude stem: the first matching suffix cut when four letters remain, then six letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


def terms(text: str) -> list[str]:
    """Stems of the content words, then adjacent stem pairs (``a+b``)."""
    stems = [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    return stems + [f"{a}+{b}" for a, b in itertools.pairwise(stems)]


class TfidfVectors:
    """A fitted vocabulary with smoothed IDF weights: ``fit(texts)`` then ``transform(texts)``."""

    def __init__(self) -> None:
        self.vocabulary_: dict[str, int] = {}
        self.idf_: NDArray[np.float64] = np.zeros(0)

    def fit(self, texts: Iterable[str]) -> TfidfVectors:
        docs = [set(terms(t)) for t in texts]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d)
        self.vocabulary_ = {g: i for i, g in enumerate(sorted(df))}
        n = len(docs)
        counts = np.array([df[g] for g in sorted(df)], dtype=float)
        self.idf_ = np.log((1 + n) / (1 + counts)) + 1.0
        return self

    def transform(self, texts: Sequence[str]) -> Matrix:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        unknown = np.zeros(len(texts))
        rare = float(self.idf_.max(initial=1.0))
        for i, text in enumerate(texts):
            for g, k in Counter(terms(text)).items():
                j = self.vocabulary_.get(g)
                if j is None:
                    unknown[i] += (k * rare) ** 2
                    continue
                rows.append(i)
                cols.append(j)
                vals.append(float(k))
        m = csr_matrix(
            (vals, (rows, cols)), shape=(len(texts), len(self.vocabulary_)), dtype=np.float64
        )
        m = m.multiply(self.idf_[None, :]).tocsr()
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel() + unknown)
        norms[norms == 0] = 1.0
        return csr_matrix(m.multiply(1.0 / norms[:, None]))


def cluster_texts(
    texts: Sequence[str], threshold: float = 0.55, min_size: int = 2
) -> list[list[int]]:
    """Groups of similar texts (indexes), largest first; singletons below ``min_size`` dropped.

    Average-linkage agglomerative clustering on cosine distance of TF-IDF vectors fitted on the
    texts themselves, cut where the average distance exceeds ``threshold``.
    """
    if len(texts) < 2:
        return [[0]] if texts and min_size <= 1 else []
    vec = TfidfVectors().fit(texts)
    x = vec.transform(texts).toarray()
    z = linkage(x, method="average", metric="cosine")
    labels = fcluster(z, t=threshold, criterion="distance")
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(int(lab), []).append(i)
    out = [g for g in groups.values() if len(g) >= min_size]
    return sorted(out, key=lambda g: (-len(g), g[0]))


def top_terms(texts: Sequence[str], k: int = 4) -> list[str]:
    """The most frequent content words of a group of texts, for a cluster's name.

    Words are counted once per text; equal counts go in alphabetical order, so the name is the
    same on every run (a set's order changes with Python's hash seed)."""
    words: Counter[str] = Counter()
    for t in texts:
        words.update({w for w in _WORD.findall(t.lower()) if w not in STOPWORDS and len(w) > 2})
    return sorted(words, key=lambda w: (-words[w], w))[:k]
