"""A cluster's name: its most frequent words, the same on every run."""

from __future__ import annotations

import os
import subprocess
import sys

from icploop.reasons.vectors import top_terms

TEXTS = ["zeta rollout alpha", "alpha rollout beta", "gamma rollout delta", "the rollout stalled"]


def test_the_most_frequent_words_come_first_and_ties_go_alphabetically() -> None:
    # "rollout" is in four texts, "alpha" in two, the rest in one each
    assert top_terms(TEXTS, k=5) == ["rollout", "alpha", "beta", "delta", "gamma"]


def test_the_name_does_not_change_with_the_hash_seed() -> None:
    code = f"from icploop.reasons.vectors import top_terms; print(top_terms({TEXTS!r}, k=4))"
    names = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(names) == 1
