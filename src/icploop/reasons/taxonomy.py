"""The reason taxonomy: codes, labels, keyword rules, example sentences and aliases, as data.

The default taxonomy ships as ``taxonomy.yaml`` next to this module; users edit a copy and pass
it with ``--taxonomy FILE``. Loading is strict: every problem of the file is collected and
reported at once, with the reason it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from icploop.errors import IcploopError
from icploop.safe_yaml import YamlDocument, parse_yaml, read_yaml

DEFAULT_MIN_SIMILARITY = 0.30
_REASON_KEYS = {"code", "label", "owner", "aliases", "ticket_categories", "keywords", "examples"}
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Reason:
    """One reason of the taxonomy."""

    code: str
    label: str
    owner: str = ""
    aliases: tuple[str, ...] = ()
    ticket_categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def patterns(self) -> tuple[re.Pattern[str], ...]:
        """The keyword rules compiled: case-insensitive, anchored on word boundaries."""
        return tuple(re.compile(rf"\b(?:{k})\b", re.IGNORECASE) for k in self.keywords)


@dataclass(frozen=True)
class Taxonomy:
    """The reasons, in the order the file lists them (that order also breaks ties)."""

    reasons: tuple[Reason, ...]
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    source: str = "default"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def get(self, code: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def label(self, code: str) -> str:
        reason = self.get(code)
        return reason.label if reason else code.replace("_", " ").capitalize()

    def resolve(self, name: str) -> Reason | None:
        """The reason a hypothesis names: by code, label or alias (case-insensitive)."""
        key = name.strip().lower().replace("-", "_")
        for r in self.reasons:
            names = {r.code, r.label.lower(), *(a.lower() for a in r.aliases)}
            if key in names or key.replace("_", " ") in names:
                return r
        return None

    def reason_of_category(self, category: str) -> str | None:
        """The reason a ticket category is evidence of, if the taxonomy maps one."""
        cat = category.strip().lower()
        return next((r.code for r in self.reasons if cat in r.ticket_categories), None)


def _strings(value: Any, where: str, key: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: {key} must be a list of non-empty strings")
        return ()
    return tuple(v.strip() for v in value)


def parse_taxonomy(doc: YamlDocument) -> Taxonomy:
    """A taxonomy from a parsed YAML document; raises one :class:`IcploopError` listing every
    problem with its line."""
    problems: list[str] = []
    data, source = doc.data, doc.source
    if not isinstance(data, dict) or not isinstance(data.get("reasons"), list):
        raise IcploopError(
            f"taxonomy {doc.where()}: expected a mapping with a 'reasons' list",
            "start from the shipped taxonomy (see docs/reasons.md)",
        )
    min_sim = data.get("min_similarity", DEFAULT_MIN_SIMILARITY)
    if not isinstance(min_sim, int | float) or not 0 < float(min_sim) <= 1:
        problems.append(
            f"line {doc.line_of(['min_similarity'])}: min_similarity must be a number in (0, 1]"
        )
        min_sim = DEFAULT_MIN_SIMILARITY
    reasons: list[Reason] = []
    seen: set[str] = set()
    for i, item in enumerate(data["reasons"], start=1):
        line = doc.line_of(["reasons", i - 1])
        where = f"line {line}: reason {i}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            problems.append(f"{where}: code must be snake_case text, got {code!r}")
            continue
        where = f"line {line}: reason {code!r}"
        if code in seen:
            problems.append(f"{where}: duplicate code")
        seen.add(code)
        unknown = set(item) - _REASON_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        keywords = _strings(item.get("keywords"), where, "keywords", problems)
        for k in keywords:
            try:
                re.compile(k)
            except re.error as exc:
                problems.append(f"{where}: keyword {k!r} is not a valid pattern ({exc})")
        reasons.append(
            Reason(
                code=code,
                label=str(item.get("label") or code.replace("_", " ").capitalize()),
                owner=str(item.get("owner") or ""),
                aliases=_strings(item.get("aliases"), where, "aliases", problems),
                ticket_categories=tuple(
                    c.lower()
                    for c in _strings(
                        item.get("ticket_categories"), where, "ticket_categories", problems
                    )
                ),
                keywords=keywords,
                examples=_strings(item.get("examples"), where, "examples", problems),
            )
        )
    if not reasons and not problems:
        problems.append("the taxonomy lists no reasons")
    if problems:
        raise IcploopError(
            f"taxonomy {source} has {len(problems)} problem(s): " + "; ".join(problems),
            "fix the file and run again (docs/reasons.md describes each key)",
        )
    return Taxonomy(reasons=tuple(reasons), min_similarity=float(min_sim), source=source)


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """The taxonomy in ``path``, or the shipped default when ``path`` is ``None``."""
    if path is None:
        text = resources.files("icploop.reasons").joinpath("taxonomy.yaml").read_text("utf-8")
        return parse_taxonomy(parse_yaml(text, "default"))
    p = Path(path)
    if not p.is_file():
        raise IcploopError(f"taxonomy file {p} not found", "pass the path of a YAML file")
    # the path as given, as the errors of every other configuration file name it
    return parse_taxonomy(read_yaml(p, "taxonomy"))
