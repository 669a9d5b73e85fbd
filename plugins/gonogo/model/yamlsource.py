"""Read a YAML file into plain Python data and remember where every value came from.

Validation errors are only useful when they point at a line the user can open,
so the loader keeps, for every mapping key and sequence item, the line it
starts on. Paths are tuples of keys and indexes, the same shape as a pydantic
error location, so ``('services', 3, 'depends_on')`` finds its line directly.

Two YAML 1.1 surprises are removed on the way: an unquoted ``17:00`` stays the
string ``"17:00"`` instead of becoming the base-60 integer 1020, and a key
written twice in one mapping is an error instead of the last one silently
winning.

Every file gonogo reads as configuration or proof comes through here: YAML
(targets, sign-offs) and JSON (load results, run records) alike are read by
:func:`read_source`, so a missing, unreadable or non-UTF-8 file is worded the
same way whatever it holds, and a problem found later is pinned to its line by
:meth:`Document.error`. YAML is held to one budget: aliases let a few
hundred bytes stand for billions of values (``a1: &a1 [*a0, *a0, ...]``
nested eight deep), so before anything is built the composed graph is
measured, each shared node once, and a file that would expand beyond
:data:`MAX_VALUES` values or :data:`MAX_DEPTH` levels is refused with the line
of the anchor that multiplies it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from gonogo.errors import ConfigError, decode_text

Loc = tuple[str | int, ...]
"""A path into the document: mapping keys and sequence indexes."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_CLOCK = re.compile(r"^[0-9]{1,2}:[0-5][0-9](:[0-5][0-9])?$")
_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")

MAX_VALUES = 250_000
"""Values (keys, items and scalars, every alias counted as what it stands for)
one file may expand to: ten times what a target of 500 services holds."""
MAX_DEPTH = 64
"""Nesting levels one file may have; targets use fewer than ten."""

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

    def error(self, loc: Loc, reason: str) -> ConfigError:
        """A ConfigError for ``reason``, at the line of ``loc`` in this file."""
        return ConfigError(reason, file=self.file, line=self.line_of(loc))


def read_source(path: str | Path, kind: str = "YAML") -> str:
    """The text of ``path``; a missing, unreadable or non-UTF-8 file is a
    ConfigError naming the file and the fix. ``kind`` names what a directory
    given in its place should have been ("YAML", "JSON")."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found; check the path", file=file) from None
    except IsADirectoryError:
        raise ConfigError(f"is a directory, not a {kind} file; name the file", file=file) from None
    except OSError as e:
        raise ConfigError(
            f"cannot be read: {e.strerror or e}; check its permissions", file=file
        ) from None
    return decode_text(raw, file, "file")


def replace_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it into place
    in one step, so a reader sees the old file or the new one, never half of
    one; ``mode`` (e.g. 0o600 for a file only its owner may read) is set before
    the move. The temporary file is removed when anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_yaml(path: str | Path) -> Document:
    """Parse ``path``; a missing, unreadable or malformed file is a ConfigError."""
    return parse_yaml(read_source(path), path)


def load_json(path: str | Path) -> Document:
    """Parse the JSON file ``path``; a missing, unreadable or malformed file is
    a ConfigError, a syntax error with its line. JSON files are written by
    gonogo itself (load results, run records), so only the document's first
    line is recorded; a problem in its content is reported at the file."""
    return parse_json(read_source(path, "JSON"), path)


def parse_json(text: str, file: str | Path) -> Document:
    """Parse JSON ``text`` that came from ``file`` (the name is used in errors)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"JSON syntax error: {e.msg}", file=file, line=e.lineno) from None
    except RecursionError:
        raise ConfigError("nests too deep to read; flatten the structure", file=file) from None
    return Document(data=data, file=Path(file), lines={(): 1})


def parse_yaml(text: str, file: str | Path) -> Document:
    """Parse YAML ``text`` that came from ``file`` (the name is used in errors)."""
    file = Path(file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise _syntax_error(e, file) from None
    if root is None:
        return Document(data=None, file=file, lines={(): 1})
    _check_budget(root, file, text)
    builder = _Builder(file)
    data = builder.build(root, ())
    builder.lines.setdefault((), root.start_mark.line + 1)
    return Document(data=data, file=file, lines=builder.lines)


def _syntax_error(error: yaml.YAMLError, file: Path) -> ConfigError:
    if not isinstance(error, yaml.MarkedYAMLError):
        return ConfigError(f"YAML syntax error: {error}", file=file)
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    reason = f"YAML syntax error: {error.problem or error.context or 'invalid YAML'}"
    context = error.context_mark
    if error.context and context is not None and context.line + 1 != line:
        reason += f" ({error.context} that starts on line {context.line + 1})"
    return ConfigError(reason, file=file, line=line)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _check_budget(root: yaml.Node, file: Path, text: str) -> None:
    """Refuse a document whose aliases expand it beyond the budget, or that
    nests too deep (or refers to itself), before a single value is built.

    Aliases make the composed document a graph whose nodes are shared; the
    expanded size of each node is computed once, children first, with an
    explicit stack, so the check costs the size of the file, not of what it
    expands to, and fails as soon as one node exceeds the budget."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    uses: Counter[int] = Counter()
    nodes: dict[int, yaml.Node] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = [id(child) for child in _children(node)]
            size[key] = 1 + sum(size[child] for child in children)
            depth[key] = 1 + max((depth[child] for child in children), default=0)
            if size[key] > MAX_VALUES:
                _refuse_expansion(node, file, text, size, uses, nodes)
            if depth[key] > MAX_DEPTH:
                raise ConfigError(
                    f"nests more than {MAX_DEPTH} levels deep; flatten the structure",
                    file=file,
                    line=node.start_mark.line + 1,
                )
            continue
        uses[key] += 1
        if key in size:
            continue
        if key in open_nodes:
            raise ConfigError(
                "an alias refers to a node that contains it; remove the recursion",
                file=file,
                line=node.start_mark.line + 1,
            )
        open_nodes.add(key)
        nodes[key] = node
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _refuse_expansion(
    node: yaml.Node,
    file: Path,
    text: str,
    size: Mapping[int, int],
    uses: Counter[int],
    nodes: Mapping[int, yaml.Node],
) -> None:
    """Name the anchor that multiplies the document: of the nodes used more
    than once, the one standing for the most values."""
    shared = [key for key, count in uses.items() if count > 1 and key in size]
    if not shared:
        raise ConfigError(
            f"holds more than {MAX_VALUES:,} values, ten times a target of 500 services; "
            "remove generated or repeated content",
            file=file,
            line=node.start_mark.line + 1,
        )
    key = max(shared, key=lambda k: size[k])
    anchored = nodes[key]
    mark = anchored.start_mark
    found = _ANCHOR.match(text, mark.index) if mark.index is not None else None
    anchor = f"&{found.group(1)}" if found else "anchored here"
    raise ConfigError(
        f"the file expands to more than {MAX_VALUES:,} values: {anchor} stands for "
        f"{size[key]:,} values and is repeated through aliases; remove the alias expansion "
        "(write the values out once, or nest fewer aliases)",
        file=file,
        line=mark.line + 1,
    )


def parse_yaml_documents(text: str, file: str | Path) -> list[Any]:
    """Every non-empty document of a multi-document YAML ``text`` (manifests),
    each held to the same budget and rules as :func:`parse_yaml`."""
    file = Path(file)
    try:
        roots = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        raise _syntax_error(e, file) from None
    documents = []
    for root in roots:
        _check_budget(root, file, text)
        data = _Builder(file).build(root, ())
        if data:
            documents.append(data)
    return documents


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
