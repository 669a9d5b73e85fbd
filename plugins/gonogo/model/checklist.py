"""The checklist model: a team's Markdown deployment checklist as Stage -> Phase -> Item.

The Markdown file stays the source of truth that people read and edit; gonogo
only parses it. The grammar is the one such checklists already use:

* ``## Heading`` is a stage, named by the team: its marker is the heading's
  slug ("## Pre-Flight" is ``-m pre_flight``), and a heading that carries one
  of gonogo's stage words ("Pre-Deployment Checklist" carries ``predeploy``)
  gets that marker too, so the words a team already uses keep working;
* ``### Heading`` is a phase, whose T-offset is read from the heading when it
  carries one ("(T-30 minutes)" is -30 minutes);
* ``- [ ] **Title** - description`` is an item (the bold part is its title;
  without bold, the text up to " - " or ": " is), indented checkbox lines are
  sub-items of the item above, and fenced code blocks under an item are its
  documented commands;
* in a stage with no checkbox items but numbered lines (``1. **Immediate
  Response**``), the numbered lines are the items: emergency procedures are
  written that way.

Anything else (tables of contents, environment notes, prose) is kept out of the
model: it has nothing to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gonogo.errors import ConfigError, decode_text

STAGE_KEYS: tuple[str, ...] = (
    "predeploy",
    "deploy",
    "staging",
    "rollback",
    "postdeploy",
    "emergency",
)
"""gonogo's stage words: a heading that contains one also gets it as a marker,
and ``rollback`` and ``emergency`` make a stage remedial."""

PREPARATION_STAGES: frozenset[str] = frozenset({"predeploy", "staging"})
"""Stages that prepare a release: first on the timeline, before any T-offset."""

REMEDIAL_STAGES: frozenset[str] = frozenset({"rollback", "emergency"})
"""Stages that exist for failures: never blocked by a closed gate, and last on the timeline."""

# Ordered: the first rule whose pattern is found in the heading wins, so the
# specific "pre-deploy"/"post-deploy" come before the plain "deploy".
_STAGE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("predeploy", re.compile(r"\bpre[- ]?deploy", re.I)),
    ("postdeploy", re.compile(r"\bpost[- ]?deploy", re.I)),
    ("emergency", re.compile(r"\bemergenc", re.I)),
    ("rollback", re.compile(r"\broll[- ]?back", re.I)),
    ("staging", re.compile(r"\bstaging\b", re.I)),
    ("deploy", re.compile(r"\bdeploy", re.I)),
)

# Patterns are written so that no two quantifiers can share the same spaces:
# a checklist line may be megabytes long, and it must still parse in linear time.
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_CHECKBOX = re.compile(r"^(\s*)[-*+]\s+\[([ xX!\-])\]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d+)[.)]\s+(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BOLD_TITLE = re.compile(r"^\*\*(.+?)\*\*\s*(?:[-:–—]\s*)?(.*)$")
_OFFSET = re.compile(r"\bT\s*(?:([+\-−–±])\s*)?(\d{1,6})\s*(m|min|mins|minutes?|h|hours?)?\b", re.I)
_OFFSET_TEXT = re.compile(r"\(\s*T\s*(?:[-+−–±]\s*)?\d[^)]*\)")


_EXPRESSION_WORDS: frozenset[str] = frozenset({"and", "or", "not", "true", "false", "none"})
"""Words a ``-m`` expression reads as operators or constants: never a marker."""


def heading_slug(title: str) -> str:
    """A stage's own marker, from its heading: lower case, T-offsets dropped,
    runs of anything but letters and digits turned into one underscore
    ("Pre-Flight (T-60)" -> "pre_flight"). A slug that would start with a
    digit, or read as a ``-m`` operator, gets a ``stage_`` prefix."""
    text = _OFFSET_TEXT.sub(" ", title).casefold()
    slug = "_".join(re.findall(r"[^\W_]+", text))
    if not slug or slug[0].isdigit() or slug in _EXPRESSION_WORDS:
        slug = f"stage_{slug}" if slug else "stage"
    return slug


_MARKER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def valid_marker_name(name: str) -> bool:
    """Whether ``name`` can be a stage marker that ``-m`` selects."""
    return bool(_MARKER_NAME.match(name)) and name.casefold() not in _EXPRESSION_WORDS


@dataclass(frozen=True)
class StageNaming:
    """How a team renames or classes its stages (the ini options
    ``gonogo_stage_markers`` and ``gonogo_remedial_stages``)."""

    markers: dict[str, str] = field(default_factory=dict)
    """Heading (any case and spacing) -> the marker to use instead of its slug."""
    remedial: frozenset[str] = frozenset()
    """Stages that exist for failures, by heading or by any of their markers."""

    def marker_for(self, title: str) -> str:
        wanted = _norm(title)
        for heading, marker in self.markers.items():
            if _norm(heading) == wanted:
                return marker
        return heading_slug(title)

    def is_remedial(self, stage: Stage) -> bool:
        names = {_norm(stage.title), *stage.markers}
        return stage.key in REMEDIAL_STAGES or bool(names & {_norm(r) for r in self.remedial})


def stage_key_for(title: str) -> str | None:
    """The stage marker a stage heading maps to, or None when none fits."""
    for key, pattern in _STAGE_RULES:
        if pattern.search(title):
            return key
    return None


def parse_offset(heading: str) -> int | None:
    """Minutes relative to the deployment start, from a heading such as
    "Phase 1: Pre-deployment Validation (T-30 minutes)" (-30) or "(T+1 hour)"
    (60). None when the heading carries no offset."""
    m = _OFFSET.search(heading)
    if not m:
        return None
    sign, number, unit = m.group(1) or "+", int(m.group(2)), (m.group(3) or "m").lower()
    minutes = number * 60 if unit.startswith("h") else number
    return -minutes if sign in "-−–" else minutes


@dataclass
class Item:
    """One thing to check: a checkbox line, a nested checkbox, or an emergency step."""

    title: str
    description: str
    line: int
    kind: str = "checkbox"
    """"checkbox" or "step" (a numbered emergency step)."""
    commands: list[str] = field(default_factory=list)
    """The shell commands the checklist documents for this item, one entry per code block."""
    notes: list[str] = field(default_factory=list)
    """Plain bullet lines under the item (e.g. "Notify incident response team")."""
    children: list[Item] = field(default_factory=list)
    parent: Item | None = field(default=None, repr=False)
    phase: Phase | None = field(default=None, repr=False)
    index: int = 0
    """Position of the item in the whole checklist, in document order."""

    @property
    def stage(self) -> Stage:
        assert self.phase is not None
        return self.phase.stage

    @property
    def path(self) -> str:
        """Where the item lives, for people: "Stage › Phase › Parent › Item"."""
        parts = [self.stage.title, self.phase.title if self.phase else ""]
        if self.parent is not None:
            parts.append(self.parent.title)
        parts.append(self.title)
        return " › ".join(p for p in parts if p)


@dataclass
class Phase:
    """A ``###`` section: a gate. Its items run together; a failure closes it."""

    title: str
    line: int
    offset_minutes: int | None
    items: list[Item] = field(default_factory=list)
    stage: Stage = field(default=None, repr=False)  # type: ignore[assignment]
    index: int = 0
    """Position of the phase within its stage."""

    @property
    def short_name(self) -> str:
        """ "Phase 1 (T-30)" for "Phase 1: Pre-deployment Validation (T-30 minutes)";
        the title itself when it has no "Phase N" prefix or offset."""
        m = re.match(r"^(Phase\s+\d+)\b", self.title, re.I)
        name = m.group(1) if m else " ".join(_OFFSET_TEXT.sub(" ", self.title).split())
        if self.offset_minutes is not None:
            return f"{name} ({format_offset(self.offset_minutes)})"
        return name

    def all_items(self) -> Iterator[Item]:
        for item in self.items:
            yield item
            yield from item.children


@dataclass
class Stage:
    """A ``##`` section of the checklist: the team's own stage."""

    title: str
    key: str
    """The gonogo stage word the heading carries ("predeploy"…), "" when none."""
    line: int
    phases: list[Phase] = field(default_factory=list)
    index: int = 0
    """Position in the document."""
    marker: str = ""
    """The stage's own marker: the heading's slug, or the name the team mapped it to."""
    remedial: bool = False
    """Exists for failures: never blocked by a closed gate, last on the timeline."""

    @property
    def markers(self) -> tuple[str, ...]:
        """Every marker that selects the stage: its own, then its stage word."""
        return tuple(dict.fromkeys(m for m in (self.marker, self.key) if m))

    @property
    def name(self) -> str:
        """How records and reports name the stage: its stage word when it has
        one (so records stay comparable across checklists), else its marker."""
        return self.key or self.marker

    @property
    def first_offset(self) -> int | None:
        offsets = [p.offset_minutes for p in self.phases if p.offset_minutes is not None]
        return min(offsets) if offsets else None

    def all_items(self) -> Iterator[Item]:
        for phase in self.phases:
            yield from phase.all_items()


def format_offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"T{sign}{abs(minutes)}" if minutes else "T-0"


@dataclass
class Checklist:
    """The parsed checklist, stages in document order."""

    source: Path | None
    stages: list[Stage]

    def all_items(self) -> Iterator[Item]:
        for stage in self.stages:
            yield from stage.all_items()

    def phases(self) -> Iterator[Phase]:
        for stage in self.stages:
            yield from stage.phases

    def timeline(self, stage_order: list[str] | None = None) -> list[Stage]:
        """Stages in the order a release lives through them.

        Preparation stages (pre-deploy and staging, by their stage word)
        without T-offsets come first, in document order; then the other
        stages: those whose phases carry T-offsets sorted by their earliest
        offset, each stage without one kept after the timed stage it follows
        in the document; then the remedial stages. ``stage_order`` (any of a
        stage's markers) sets the order explicitly; stages it does not name
        follow in the default order."""
        prep = [
            s
            for s in self.stages
            if not s.remedial and s.key in PREPARATION_STAGES and s.first_offset is None
        ]
        rest = [s for s in self.stages if not s.remedial and s not in prep]
        timed = sorted(
            (s for s in rest if s.first_offset is not None),
            key=lambda s: (s.first_offset, s.index),
        )
        place = {id(s): n for n, s in enumerate(timed)}

        def along(stage: Stage) -> tuple[int, int, int]:
            if id(stage) in place:
                return (place[id(stage)], 0, stage.index)
            above = [place[id(t)] for t in timed if t.index < stage.index]
            return (max(above, default=-1), 1, stage.index)

        remedial = [s for s in self.stages if s.remedial]
        default = prep + sorted(rest, key=along) + remedial
        if not stage_order:
            return default
        rank = {key: i for i, key in enumerate(stage_order)}

        def placed(stage: Stage) -> int:
            return min((rank[m] for m in stage.markers if m in rank), default=len(rank))

        return sorted(default, key=lambda s: (placed(s), default.index(s)))

    def find(self, title: str, *, stage: str | None = None, phase: str | None = None) -> list[Item]:
        """Items whose title equals ``title`` (case and spacing ignored),
        narrowed by a stage (title or key) and a phase (title, prefix or short name)."""
        wanted = _norm(title)
        found = [i for i in self.all_items() if _norm(i.title) == wanted]
        if stage is not None:
            found = [i for i in found if _stage_matches(i.stage, stage)]
        if phase is not None:
            found = [i for i in found if i.phase is not None and phase_matches(i.phase, phase)]
        return found

    def find_phase(self, name: str) -> list[Phase]:
        return [p for p in self.phases() if phase_matches(p, name)]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _stage_matches(stage: Stage, name: str) -> bool:
    return _norm(name) == _norm(stage.title) or name in stage.markers


def phase_matches(phase: Phase, name: str) -> bool:
    """A phase is named by its title, a prefix of it ("Phase 4"), or its short name."""
    wanted = _norm(name)
    title = _norm(phase.title)
    if wanted in (title, _norm(phase.short_name)):
        return True
    return title.startswith(wanted) and not title[len(wanted) : len(wanted) + 1].isalnum()


def _split_title(text: str) -> tuple[str, str]:
    """Title and description of an item line."""
    m = _BOLD_TITLE.match(text.strip())
    if m:
        return m.group(1).strip(), m.group(2).strip()
    for sep in (" - ", " – ", " — ", ": "):
        if sep in text:
            head, tail = text.split(sep, 1)
            return head.strip(), tail.strip()
    return text.strip(), ""


def _shown(text: str, limit: int = 80) -> str:
    """A title quoted for an error line, cut short: a line may be megabytes long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _heading_text(text: str) -> str:
    """A heading's text without the closing hashes ATX headings may carry."""
    return text.rstrip().rstrip("#").rstrip()


def _indent(text: str) -> int:
    return len(text.expandtabs(4)) - len(text.expandtabs(4).lstrip())


def parse_checklist(
    text: str, source: Path | None = None, naming: StageNaming | None = None
) -> Checklist:
    """Parse checklist Markdown into the model. Every ``##`` heading with items
    is a stage; ConfigError when two stages would share a marker, naming the fix."""
    naming = naming or StageNaming()
    stages: list[Stage] = []
    stage: Stage | None = None
    phase: Phase | None = None
    current: Item | None = None  # the item that code blocks and notes attach to
    top: Item | None = None  # the last top-level item, parent of indented checkboxes
    numbered: list[tuple[Stage, Phase, Item]] = []  # numbered lines, kept per stage
    in_fence = False
    fence_marker = ""
    fence_lines: list[str] = []

    def ensure_phase(line_no: int) -> Phase:
        nonlocal phase
        assert stage is not None
        if phase is None:
            phase = Phase(title=stage.title, line=line_no, offset_minutes=parse_offset(stage.title))
            phase.stage = stage
            stage.phases.append(phase)
        return phase

    for line_no, raw in enumerate(text.splitlines(), start=1):
        if in_fence:
            if raw.strip().startswith(fence_marker):
                in_fence = False
                if current is not None:
                    current.commands.append(_dedent_block(fence_lines))
                fence_lines = []
            else:
                fence_lines.append(raw)
            continue
        fence = _FENCE.match(raw)
        if fence:
            in_fence, fence_marker, fence_lines = True, fence.group(1), []
            continue
        heading = _HEADING.match(raw)
        if heading:
            level, title = len(heading.group(1)), _heading_text(heading.group(2))
            current = top = None
            if level == 2:
                marker = naming.marker_for(title)
                # Mapped to one of gonogo's stage words, a heading takes that
                # stage's meaning ("Cut-over = deploy" can trigger a rollback).
                key = marker if marker in STAGE_KEYS else stage_key_for(title) or ""
                stage = Stage(title=title, key=key, line=line_no, marker=marker)
                stage.index = len(stages)
                stages.append(stage)
                phase = None
            elif level >= 3 and stage is not None:
                phase = Phase(title=title, line=line_no, offset_minutes=parse_offset(title))
                phase.stage = stage
                stage.phases.append(phase)
            continue
        if stage is None:
            continue
        box = _CHECKBOX.match(raw)
        if box:
            title, description = _split_title(box.group(3))
            item = Item(title=title, description=description, line=line_no)
            if _indent(box.group(1)) > 0 and top is not None:
                item.parent = top
                item.phase = top.phase
                top.children.append(item)
            else:
                item.phase = ensure_phase(line_no)
                item.phase.items.append(item)
                top = item
            current = item
            continue
        num = _NUMBERED.match(raw)
        if num and _indent(num.group(1)) == 0:
            title, description = _split_title(num.group(3))
            item = Item(title=title, description=description, line=line_no, kind="step")
            numbered.append((stage, ensure_phase(line_no), item))
            current, top = item, None
            continue
        bullet = _BULLET.match(raw)
        if bullet and current is not None and _indent(bullet.group(1)) > 0:
            current.notes.append(bullet.group(2).strip())

    # Numbered lines are steps only in a stage without checkbox items that
    # carries a stage word or is named remedial: elsewhere they are prose (a
    # table of contents, say).
    boxed = {id(s) for s in stages if any(True for _ in s.all_items())}
    for st, ph, item in numbered:
        if id(st) not in boxed and (st.key or naming.is_remedial(st)):
            item.phase = ph
            ph.items.append(item)

    kept: list[Stage] = []
    owners: dict[str, Stage] = {}
    for st in stages:
        st.phases = [p for p in st.phases if p.items]
        if not st.phases:
            continue
        st.remedial = naming.is_remedial(st)
        first = owners.setdefault(st.marker, st)
        if first is not st:
            raise ConfigError(
                f"stages {_shown(first.title)} (line {first.line}) and {_shown(st.title)} "
                f"share the marker {_shown(st.marker)}; rename one heading, or map it to "
                "another marker with the ini option gonogo_stage_markers "
                "('<heading> = <marker>')",
                file=source,
                line=st.line,
            )
        for i, ph in enumerate(st.phases):
            ph.index = i
        st.index = len(kept)
        kept.append(st)
    checklist = Checklist(source=source, stages=kept)
    for i, item in enumerate(checklist.all_items()):
        item.index = i
    return checklist


def _dedent_block(lines: list[str]) -> str:
    widths = [_indent(line) for line in lines if line.strip()]
    cut = min(widths) if widths else 0
    return "\n".join(line.expandtabs(4)[cut:] for line in lines).strip("\n")


def load_checklist(path: str | Path, naming: StageNaming | None = None) -> Checklist:
    """Read, parse and vet a checklist file. Every way it can be unusable is a
    ConfigError naming the file (and line) and the fix: missing, a directory,
    unreadable, not UTF-8, two stages with one marker, an item title
    a phase holds twice, or no checklist items at all (a checklist that checks
    nothing must not pass for one that passed)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(
            "checklist file not found; pass --checklist FILE or set gonogo_checklist "
            "in the ini file",
            file=p,
        ) from e
    except IsADirectoryError as e:
        raise ConfigError(
            "is a directory, not a checklist; pass --checklist FILE (a Markdown file)", file=p
        ) from e
    except OSError as e:
        raise ConfigError(
            f"cannot read checklist: {e.strerror}; check the path and its permissions", file=p
        ) from e
    text = decode_text(data, p, "checklist")
    checklist = parse_checklist(text, source=p, naming=naming)
    _refuse_repeated_titles(checklist)
    if not any(True for _ in checklist.all_items()):
        raise ConfigError(
            "has no checklist items; add '- [ ] **Title**' lines under a stage heading "
            "('## Pre-Deployment Checklist', '### Phase ...'), or pass --checklist FILE",
            file=p,
        )
    return checklist


def _refuse_repeated_titles(checklist: Checklist) -> None:
    """Two items of one phase with one title cannot be told apart by a test's
    item(...) binding, nor by an approver reading the report."""
    for phase in checklist.phases():
        seen: dict[str, Item] = {}
        for item in phase.all_items():
            first = seen.setdefault(_norm(item.title), item)
            if first is not item:
                raise ConfigError(
                    f"item {_shown(item.title)} repeats the item of line {first.line} in "
                    f"phase {_shown(phase.title)}; give each item of a phase its own title",
                    file=checklist.source,
                    line=item.line,
                )
