"""The one reader for every YAML document icploop reads: mapping files, the fit configuration,
routing rules, the reason taxonomy, ICP documents and edited review proposals.

YAML is convenient to write and dangerous to read as it comes: a few hundred bytes of aliases
expand into millions of nodes, deep nesting exhausts the parser's recursion, and a repeated key
silently replaces the first one. This reader refuses each of those before any data is built:

- a document larger than ``max_bytes`` (default :data:`MAX_BYTES`, 1 MiB) is refused unread;
- aliases (``*name``) and merge keys (``<<``) are refused where they appear: every value is
  written out, so what a file says is what it holds;
- nesting deeper than ``max_depth`` (default :data:`MAX_DEPTH`, 32 levels) is refused;
- a key repeated in one mapping, or a key that is not a plain value, is refused;
- only one document per file.

Every problem is an :class:`~icploop.errors.IcploopError` that names the source and the line,
and the document keeps the line of every key path so that validation problems found later
(pydantic models, the taxonomy's own checks) name their line too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from icploop.errors import IcploopError

MAX_BYTES = 1 << 20
MAX_DEPTH = 32

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

Model = TypeVar("Model", bound=pydantic.BaseModel)
Loc = tuple[Any, ...]


class _Refused(Exception):
    """A construct the reader does not accept, with the YAML position it was found at."""

    def __init__(self, mark: yaml.Mark | None, problem: str) -> None:
        super().__init__(problem)
        self.mark = mark
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, composing with a depth limit and without aliases."""

    max_depth = MAX_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                event.start_mark,
                f"the alias *{event.anchor} is not accepted; write the value out in full",
            )
        self._depth += 1
        if self._depth > self.max_depth:
            raise _Refused(
                self.peek_event().start_mark,
                f"nesting deeper than {self.max_depth} levels is not accepted",
            )
        node = super().compose_node(parent, index)
        self._depth -= 1
        return node


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML (plain dicts, lists and scalars) and the line of every key path in it.

    ``lines`` maps a path of keys and list indexes, e.g. ``("tables", 0, "columns")``, to the
    1-based line where that key or item starts; ``()`` is the document itself.
    """

    data: Any
    source: str
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[Any]) -> int:
        """The line of ``loc`` or of its nearest ancestor in the document (1 when none is)."""
        path = tuple(loc)
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return 1

    def where(self, loc: Sequence[Any] = ()) -> str:
        """``source, line N`` for ``loc``, as every problem of this document begins."""
        return f"{self.source}, line {self.line_of(loc)}"


def _key(loader: _Loader, node: yaml.Node) -> Hashable:
    if node.tag == _MERGE_TAG:
        raise _Refused(node.start_mark, "merge keys (<<) are not accepted; write the keys out")
    if not isinstance(node, yaml.ScalarNode):
        raise _Refused(node.start_mark, "a key must be a plain value, not a list or a mapping")
    key = loader.construct_object(node, deep=True)
    if not isinstance(key, Hashable):  # pragma: no cover - scalars construct to hashables
        raise _Refused(node.start_mark, "a key must be a plain value")
    return key


def _build(loader: _Loader, node: yaml.Node, lines: dict[Loc, int], path: Loc) -> Any:
    """Plain Python data from a composed node, recording the line of every key path."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _key(loader, key_node)
            if key in out:
                first = lines[(*path, key)]
                raise _Refused(
                    key_node.start_mark,
                    f"the key {key!r} is repeated (first given on line {first})",
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, lines, (*path, key))
        return out
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
        return [_build(loader, item, lines, (*path, i)) for i, item in enumerate(node.value)]
    # scalars and the few tagged collections YAML's safe schema knows (sets, ordered pairs)
    return loader.construct_object(node, deep=True)


def parse_yaml(
    text: str | bytes,
    source: str = "<yaml>",
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> YamlDocument:
    """Parse one YAML document from ``text`` within the limits above.

    ``source`` names the document in every error (a file path, ``preset NAME``, ``the request
    body``). An empty document parses to ``None``. Raises IcploopError with the source and line.
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        raise IcploopError(
            f"{source}: {size:,} bytes is larger than the {max_bytes:,} bytes a YAML document "
            "may have",
            "split the document or remove what it does not need",
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IcploopError(
                f"{source}: not UTF-8 text (byte {exc.start})", "save the file as UTF-8"
            ) from None
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader refuses unprintable characters here already
        loader.max_depth = max_depth
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = _build(loader, node, lines, ()) if node is not None else None
    except _Refused as exc:
        line = f", line {exc.mark.line + 1}" if exc.mark is not None else ""
        raise IcploopError(
            f"{source}{line}: {exc.problem}",
            "YAML here takes plain values, lists and mappings",
        ) from None
    except yaml.reader.ReaderError as exc:
        line_no = text.count("\n", 0, exc.position) + 1
        raise IcploopError(
            f"{source}, line {line_no}: not valid YAML (the character {exc.character!r} "
            "is not allowed)",
            "remove control characters from the document",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IcploopError(
            f"{source}{line}: not valid YAML ({problem})",
            "check the indentation and the quoting on that line",
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(data, source, lines)


def read_bounded(path: Path, what: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the file at ``path``, refused unread when larger than ``max_bytes``;
    ``what`` names the file in errors ("mapping file")."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IcploopError(
                f"{path}: the {what} has {size:,} bytes, more than the {max_bytes:,} bytes a "
                "YAML document may have",
                "split the document or remove what it does not need",
            )
        return path.read_bytes()
    except OSError as exc:
        raise IcploopError(
            f"cannot read the {what} {path}: {exc.strerror or exc}", "check the path"
        ) from None


def read_yaml(path: Path, what: str, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Read and parse the YAML file at ``path`` (see :func:`read_bounded`)."""
    return parse_yaml(read_bounded(path, what, max_bytes), str(path), max_bytes=max_bytes)


def problems_of(doc: YamlDocument, exc: pydantic.ValidationError) -> list[str]:
    """Each problem pydantic found, as ``source, line N: key.path: message``."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc)
        out.append(f"{doc.where(loc)}: {where + ': ' if where else ''}{err['msg']}")
    return out


def validate(
    doc: YamlDocument,
    model: type[Model],
    what: str,
    hint: str = "",
    empty: Callable[[], Any] = dict,
) -> Model:
    """``doc``'s data as ``model``, or one IcploopError listing every problem with its line.

    An empty document is ``empty()`` (an empty mapping: every field at its default).
    """
    data = empty() if doc.data is None else doc.data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise IcploopError(
            f"invalid {what}:\n  " + "\n  ".join(problems_of(doc, exc)), hint
        ) from None
