"""``reports/checklist.md``: the team's own checklist, boxes filled in.

The source Markdown is copied line for line; only each item's box changes
(``[x]`` passed, ``[!]`` failed, ``[ ]`` not run, ``[-]`` not applicable to
this environment) and one quoted result line is added under each item. The
result still parses as the same checklist, so it can be pasted into a change
ticket and read back by gonogo."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gonogo.redact import redactor
from gonogo.report.model import ItemView, RunView

_BOX = re.compile(r"^(\s*[-*+]\s+\[)[ xX!\-](\])")
_LEAD = re.compile(r"^(\s*)(?:[-*+]\s+|\d+[.)]\s+)")


def _result_line(view: ItemView, source_line: str, link: str | None) -> str:
    lead = _LEAD.match(source_line)
    indent = " " * (len(lead.group(0)) if lead else 2)
    text = view.summary().replace("\n", " ")
    if link and view.results:
        text += f" · [evidence]({link}#{view.anchor})"
    return f"{indent}> **{view.words}** — {text}"


def render(view: RunView, source: str, html_link: str | None = None) -> str:
    """The checklist text with boxes filled and result lines added."""
    lines = source.splitlines()
    by_line: dict[int, ItemView] = {v.item.line: v for v in view.items()}
    out: list[str] = []
    verdict = view.verdict.word
    header = [
        f"> **gonogo verdict: {verdict}** — environment {view.environment}, "
        + ", ".join(f"{t.name} {t.previous_release} → {t.release}" for t in view.targets)
        + f"; checklist @ {view.checklist_commit}",
        *[f"> {line}" for line in view.verdict.lines()],
        "",
    ]
    out.extend(header)
    for number, line in enumerate(lines, start=1):
        item = by_line.get(number)
        if item is None:
            out.append(line)
            continue
        if item.item.kind == "checkbox":
            line = _BOX.sub(rf"\g<1>{item.box}\g<2>", line, count=1)
        out.append(line)
        out.append(_result_line(item, line, html_link))
    return redactor.text("\n".join(out)) + "\n"


def write(view: RunView, source_path: Path, out_path: Path, html_path: Path | None) -> Path:
    """Write the filled checklist atomically next to the other reports."""
    source = source_path.read_text(encoding="utf-8")
    link = None
    if html_path is not None:
        link = os.path.relpath(html_path.resolve(), out_path.resolve().parent).replace(os.sep, "/")
    text = render(view, source, link)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out_path)
    return out_path
