"""Read a YAML file into plain Python data and remember where every value came from.

Validation errors are only useful when they point at a line the user can open,
so the loader keeps, for every mapping key and sequence item, the line it
starts on. Paths are tuples of keys and indexes, the same shape as a pydantic
error location, so ``('services', 3, 'depends_on')`` finds its line directly.

Two YAML 1.1 surprises are removed on the way: an unquoted ``17:00`` stays the
string ``"17:00"`` instead of becoming the base-60 integer 1020, and a key
written twice in one mapping is an error instead of the last one silently
winning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from gonogo.errors import ConfigError

Loc = tuple[str | int, ...]
"""A path into the document: mapping keys and sequence indexes."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_CLOCK = re.compile(r"^[0-9]{1,2}:[0-5][0-9](:[0-5][0-9])?$")

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Document:
    """Data parsed from one YAML file, with the line of every key and item."""

    data: Any
    file: Path
    lines: Mapping[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of ``loc``, or of its nearest ancestor present in the file.

        A missing required key has no line of its own; the mapping that should
        hold it is the next best place to send the reader."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return self.lines.get((), 1)


def load_yaml(path: str | Path) -> Document:
    """Parse ``path``; a missing, unreadable or malformed file is a ConfigError."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; check the path", file=file) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a YAML file; name the file", file=file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot be read: {e}", file=file) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str | Path) -> Document:
    """Parse YAML ``text`` that came from ``file`` (the name is used in errors)."""
    file = Path(file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = f"YAML syntax error: {e.problem or e.context or 'invalid YAML'}"
        if e.context and e.context_mark is not None and e.context_mark.line + 1 != line:
            reason += f" ({e.context} that starts on line {e.context_mark.line + 1})"
        raise ConfigError(reason, file=file, line=line) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML syntax error: {e}", file=file) from None
    if root is None:
        return Document(data=None, file=file, lines={(): 1})
    builder = _Builder(file)
    data = builder.build(root, ())
    builder.lines.setdefault((), root.start_mark.line + 1)
    return Document(data=data, file=file, lines=builder.lines)


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars, recording lines."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.lines: dict[Loc, int] = {}
        self._constructor = yaml.SafeLoader("")
        self._active: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        if id(node) in self._active:
            self._fail(node, "an alias refers to a node that contains it; remove the recursion")
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, loc)
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        if node.tag != _MAP_TAG:
            self._fail(node, f"unsupported tag {node.tag!r}; remove it")
        self._refuse_duplicate_keys(node)
        self._flatten_merges(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node)
            self.lines[(*loc, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*loc, key))
        return result

    def _refuse_duplicate_keys(self, node: yaml.MappingNode) -> None:
        """A key written twice is a mistake; a key that overrides a merged one is not."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, "a mapping key must be a plain value, not a list or mapping")
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                self._fail(
                    key_node, f"key {key!r} appears twice (first on line {seen[key]}); keep one"
                )
            seen[key] = line

    def _sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        if node.tag != _SEQ_TAG:
            self._fail(node, f"unsupported tag {node.tag!r}; remove it")
        items = []
        for index, item in enumerate(node.value):
            self.lines[(*loc, index)] = item.start_mark.line + 1
            items.append(self.build(item, (*loc, index)))
        return items

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _INT_TAG and isinstance(node.value, str) and _CLOCK.match(node.value):
            return node.value
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            self._fail(node, f"cannot read value: {problem}")

    def _flatten_merges(self, node: yaml.MappingNode) -> None:
        """Apply ``<<: *anchor`` merge keys the way YAML 1.1 defines them."""
        if not any(key.tag == _MERGE_TAG for key, _ in node.value):
            return
        try:
            self._constructor.flatten_mapping(node)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            self._fail(node, f"cannot merge: {problem}")

    def _fail(self, node: yaml.Node, reason: str) -> NoReturn:
        raise ConfigError(reason, file=self.file, line=node.start_mark.line + 1)
