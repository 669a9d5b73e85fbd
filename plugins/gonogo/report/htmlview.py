"""The approver's view as HTML fragments: banner, gate and rollback, timeline,
checklist with evidence, sign-offs, load charts.

Pure functions from the report model to strings; the pytest-html glue places
them. Every piece of text is redacted and escaped here, at the last step
before it becomes markup, whatever was done upstream."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from gonogo.engine.verdict import CheckResult, is_dry_run, rollback_words
from gonogo.redact import redactor
from gonogo.report.charts import TIMESERIES_MIME, parse_timeseries, timeline_svg, timeseries_svg
from gonogo.report.model import ItemView, RunView, evidence_of, first_line

_MAX_TEXT = 20_000  # characters of one evidence entry shown inline


def t(value: Any) -> str:
    """Text for markup: redacted, then escaped."""
    return escape(redactor.text(str(value)))


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def banner(view: RunView) -> str:
    verdict = view.verdict.word
    cls = "go" if view.go else "nogo"
    facts: list[tuple[str, str]] = []
    for target in view.targets:
        prefix = f"{target.name}: " if len(view.targets) > 1 else ""
        facts += [
            (
                "Target",
                f"{target.name}" + (f" (namespace {target.namespace})" if target.namespace else ""),
            ),
            (f"{prefix}Release", f"{target.previous_release} → {target.release}"),
            (f"{prefix}Cluster context", target.kube_context),
            (
                f"{prefix}Run records",
                f"{target.record_store}: this run's record is kept there; items proven by an "
                "earlier run (staging's load test for the gate, the gate's data fingerprints "
                "for Data consistency) read it from there",
            ),
        ]
    if not view.targets:
        facts.append(("Target", "none (no --target given)"))
    facts += [
        ("Environment", view.environment),
        ("Mode", "execute" if view.execute else "dry run (mutating checks changed nothing)"),
        ("Rollback mode", view.rollback_mode),
        ("Started", _when(view.started)),
        ("Finished", _when(view.finished)),
        ("Duration", _duration(view.duration)),
        ("gonogo", view.version),
        (
            "Checklist",
            f"{view.checklist_path.name if view.checklist_path else 'unknown'} "
            f"@ {view.checklist_commit}",
        ),
    ]
    rows = "".join(f"<dt>{t(k)}</dt><dd>{t(v)}</dd>" for k, v in facts)
    lines = "".join(f"<li>{t(line)}</li>" for line in view.verdict.lines())
    counts = _counts(view)
    return (
        f'<section id="gonogo-banner" class="gonogo-banner {cls}">'
        f'<div class="verdict" data-verdict="{verdict}">{verdict}</div>'
        f'<ul class="verdict-lines">{lines}</ul>'
        f'<p class="counts">{t(counts)}</p>'
        f'<dl class="facts">{rows}</dl></section>'
    )


def _counts(view: RunView) -> str:
    items = view.items()
    by_state: dict[str, int] = {}
    for v in items:
        by_state[v.words] = by_state.get(v.words, 0) + 1
    text = ", ".join(f"{n} {words}" for words, n in by_state.items())
    return f"{len(items)} checklist items: {text}"


def gates_and_rollback(view: RunView) -> str:
    gates, rollbacks = view.gates(), view.rollbacks()
    if not gates and not rollbacks:
        return (
            '<section id="gonogo-gates" class="gonogo-section"><h2>Gates and rollback</h2>'
            "<p>Every gate stayed open; no rollback was triggered.</p></section>"
        )
    out = ['<section id="gonogo-gates" class="gonogo-section"><h2>Gates and rollback</h2>']
    for gate in gates:
        blocked = view.blocked_by(gate["target"])
        out.append(
            f'<div class="gate"><h3>Gate closed: {t(gate["short"])}'
            f"{' (' + t(gate['target']) + ')' if gate['target'] else ''}</h3>"
            f"<p>Failed: {t(', '.join(gate['failed']))}</p>"
            f'<p>{len(blocked)} later check(s) blocked:</p><ul class="blocked">'
            + "".join(
                f'<li>{t(_title(r))} <span class="muted">({t(r.binding.get("phase_short", ""))})'
                "</span></li>"
                for r in blocked
            )
            + "</ul></div>"
        )
    for event in rollbacks:
        out.append(_rollback(event))
    out.append("</section>")
    return "".join(out)


def _title(result: CheckResult) -> str:
    b = result.binding
    return b["title"] + (f" [{b['service']}]" if b.get("service") else "")


def _rollback(event: dict[str, Any]) -> str:
    trigger = event.get("trigger") or {}
    mode = event.get("mode", "plan")
    dry = is_dry_run(event)
    shown = f"{mode}, dry run: nothing changed" if dry else mode
    head = (
        f'<div class="rollback" data-mode="{t(mode)}" data-dry-run="{str(dry).lower()}">'
        f"<h3>Rollback ({t(shown)})"
        f"{' — ' + t(event['target']) if event.get('target') else ''}</h3>"
        f"<p>Trigger: {t(trigger.get('reason', 'unknown'))}</p>"
        f'<p class="rollback-outcome">Outcome: {t(rollback_words(event))}</p>'
    )
    body = []
    steps = event.get("steps") or []
    if steps:
        rows = "".join(
            f'<tr class="{"ok" if _step_ok(s) else "bad"}"><td>{n}</td>'
            f"<td>deployment/{t(s['deployment'])}</td><td>{t(s['from_revision'])}</td>"
            f"<td>{t(s['to_revision'])}</td><td>{t(s['result'])}</td>"
            f"<td>{float(s.get('duration') or 0):.1f} s</td></tr>"
            for n, s in enumerate(steps, 1)
        )
        body.append(
            '<table class="gonogo-table rollback-steps"><thead><tr><th>#</th><th>Deployment</th>'
            "<th>From revision</th><th>To revision</th><th>Result</th><th>Duration</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
        if event.get("duration") is not None:
            body.append(f"<p>Rollback took {_duration(float(event['duration']))}.</p>")
    plan = event.get("plan") or {}
    if plan.get("steps"):
        rows = "".join(
            f"<tr><td>{n}</td><td>deployment/{t(s['deployment'])}</td>"
            f"<td>{t(s.get('namespace') or '')}</td><td>{t(s['to_release'])}</td>"
            f"<td>{t(s.get('from_revision') if s.get('from_revision') is not None else '?')} → "
            f"{t(s.get('to_revision') if s.get('to_revision') is not None else '?')}</td></tr>"
            for n, s in enumerate(plan["steps"], 1)
        )
        label = "Plan that was executed" if steps else "Plan (not executed: pass --rollback=auto)"
        if dry:
            label = "Plan run as a dry run (nothing changed: pass --execute)"
        if mode == "off":
            label = "Plan (rollback off)"
        body.append(
            f'<details class="plan" {"" if steps else "open"}><summary>{t(label)}: '
            f"{t(plan.get('release', ''))} → {t(plan.get('to_release', ''))}</summary>"
            '<table class="gonogo-table"><thead><tr><th>#</th><th>Deployment</th>'
            "<th>Namespace</th><th>Returns to</th><th>Revision</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>"
        )
    if event.get("error"):
        body.append(f'<p class="error">{t(event["error"])}</p>')
    return head + "".join(body) + "</div>"


def _step_ok(step: dict[str, Any]) -> bool:
    return not str(step.get("result", "")).startswith(("failed", "not run"))


def timeline(view: RunView) -> str:
    rows: list[dict[str, Any]] = []
    for stage in view.stages:
        for phase in stage.phases:
            for run in phase.runs:
                state = "failed" if run["failed"] else ("passed" if run["passed"] else "skipped")
                label = phase.phase.short_name
                if len(view.targets) > 1:
                    label = f"{run['target']}: {label}"
                rows.append(
                    {
                        "label": label,
                        "offset": phase.phase.offset_minutes,
                        "start": float(run["start"]),
                        "duration": float(run["duration"]),
                        "state": state,
                    }
                )
    rows.sort(key=lambda r: float(r["start"] or 0))
    return (
        '<section id="gonogo-timeline" class="gonogo-section"><h2>Timeline</h2>'
        f"{timeline_svg(rows, view.started)}</section>"
    )


def checklist(view: RunView) -> str:
    out = ['<section id="gonogo-checklist" class="gonogo-section"><h2>Checklist</h2>']
    for stage in view.stages:
        out.append(f'<div class="stage"><h3>{t(stage.stage.title)}</h3>')
        for phase in stage.phases:
            offset = f' <span class="offset">{t(phase.offset)}</span>' if phase.offset else ""
            out.append(
                f'<div class="phase"><h4>{t(phase.phase.title)}{offset}</h4><ul class="items">'
            )
            for item in phase.items:
                out.append(_item(item, view.evidence))
            out.append("</ul></div>")
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _item(view: ItemView, evidence_by_node: dict[str, list[dict[str, Any]]]) -> str:
    item = view.item
    prefix = "step " if item.kind == "step" else ""
    results = view.results
    evidence = "".join(_result_details(r, evidence_by_node) for r in results)
    details = (
        f'<details class="evidence"{" open" if view.state == "failed" else ""}>'
        f"<summary>evidence ({len(results)} test{'s' if len(results) != 1 else ''})</summary>"
        f"{evidence}</details>"
        if results
        else ""
    )
    children = (
        '<ul class="items">' + "".join(_item(c, evidence_by_node) for c in view.children) + "</ul>"
        if view.children
        else ""
    )
    return (
        f'<li id="{view.anchor}" class="item state-{view.state}" data-state="{view.state}">'
        f'<span class="badge">{t(view.words)}</span> '
        f'<span class="title">{t(prefix + item.title)}</span>'
        f'<div class="result-line">{t(view.summary())}</div>{details}{children}</li>'
    )


def _result_details(result: CheckResult, evidence_by_node: dict[str, list[dict[str, Any]]]) -> str:
    name = _title(result)
    head = (
        f'<div class="test {t(result.outcome)}"><div class="test-head">'
        f"<strong>{t(name)}</strong> — {t(result.outcome)} in {result.duration:.2f} s "
        f'<code class="nodeid">{t(result.nodeid)}</code></div>'
    )
    message = (
        f'<pre class="message">{t(result.message[:_MAX_TEXT])}</pre>' if result.message else ""
    )
    found = evidence_by_node.get(result.nodeid) or evidence_of(result)
    entries = "".join(evidence_entry(e) for e in found)
    return head + message + entries + "</div>"


def evidence_entry(entry: dict[str, Any]) -> str:
    """One evidence entry as markup (see ``gonogo.engine.evidence.Evidence``)."""
    kind = entry.get("kind")
    title = t(entry.get("title", ""))
    content = entry.get("content")
    if kind == "measure" and isinstance(content, dict):
        return f'<div class="ev measure">{_measure(content)}</div>'
    if kind == "table" and isinstance(content, list):
        return f'<div class="ev"><div class="ev-title">{title}</div>{_table(content)}</div>'
    if kind == "json":
        body = json.dumps(content, indent=2, default=str)[:_MAX_TEXT]
        return f'<div class="ev"><div class="ev-title">{title}</div><pre>{t(body)}</pre></div>'
    if kind == "attachment":
        return f'<div class="ev"><div class="ev-title">{title}</div>{_attachment(entry)}</div>'
    return (
        f'<div class="ev"><div class="ev-title">{title}</div>'
        f"<pre>{t(str(content)[:_MAX_TEXT])}</pre></div>"
    )


def _fmt_value(name: str, value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float) and (unit in ("", "fraction") and "rate" in name):
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:.4g}{(' ' + unit) if unit else ''}"
    return f"{value}{(' ' + unit) if unit else ''}"


def _measure(m: dict[str, Any]) -> str:
    name, unit = str(m.get("name", "")), str(m.get("unit") or "")
    ok = m.get("ok")
    mark = {
        True: '<span class="ok">within limit</span>',
        False: '<span class="bad">over limit</span>',
    }
    service = f" [{t(m['service'])}]" if m.get("service") else ""
    limit = (
        f" (limit {t(_fmt_value(name, m['limit'], unit))})" if m.get("limit") is not None else ""
    )
    return (
        f"<strong>{t(name)}</strong>{service}: {t(_fmt_value(name, m.get('value'), unit))}"
        f"{limit} {mark[ok] if isinstance(ok, bool) else ''}"
    )


def _table(rows: list[Any]) -> str:
    dict_rows = [r for r in rows if isinstance(r, dict)]
    if not dict_rows:
        return f"<pre>{t(json.dumps(rows, default=str)[:_MAX_TEXT])}</pre>"
    keys: list[str] = []
    for r in dict_rows:
        keys += [k for k in r if k not in keys]
    head = "".join(f"<th>{t(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{t(_cell(r.get(k)))}</td>" for k in keys) + "</tr>"
        for r in dict_rows[:500]
    )
    return (
        f'<table class="gonogo-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _attachment(entry: dict[str, Any]) -> str:
    mime = str(entry.get("mime") or "text/plain")
    content = entry.get("content")
    if mime == TIMESERIES_MIME:
        try:
            samples = parse_timeseries(content)
        except ValueError as e:
            return f'<p class="error">unreadable time series: {t(e)}</p>'
        limits = {}
        if isinstance(content, str):
            raw = json.loads(content)
            if isinstance(raw, dict):
                limits = {k: float(v) for k, v in (raw.get("limits") or {}).items()}
        return timeseries_svg(samples, str(entry.get("title", "load")), limits)
    if mime.startswith("image/") and isinstance(content, str):
        data = _as_base64(content, mime)
        if data is None:
            return '<p class="error">image attachment is not base64 data</p>'
        alt = t(entry.get("title", ""))
        return f'<img class="ev-image" alt="{alt}" src="data:{escape(mime)};base64,{data}">'
    return f"<pre>{t(str(content)[:_MAX_TEXT])}</pre>"


def _as_base64(content: str, mime: str) -> str | None:
    """Images travel as base64; SVG may come as its text, which is encoded
    here so it renders as an image (scripts in it never run)."""
    if mime == "image/svg+xml" and content.lstrip().startswith("<"):
        return base64.b64encode(content.encode("utf-8")).decode("ascii")
    try:
        base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None
    return content


def load_charts(view: RunView) -> str:
    """Every time-series evidence of the run, together, so an approver sees the
    load without opening each item."""
    charts = []
    for result in view.verdict.results:
        for entry in view.evidence_for(result):
            if entry.get("kind") == "attachment" and entry.get("mime") == TIMESERIES_MIME:
                charts.append(
                    f'<figure class="load-chart">{_attachment(entry)}'
                    f"<figcaption>{t(_title(result))}: {t(entry.get('title', ''))}</figcaption>"
                    "</figure>"
                )
    if not charts:
        return ""
    return (
        '<section id="gonogo-load" class="gonogo-section"><h2>Load results</h2>'
        + "".join(charts)
        + "</section>"
    )


def signoffs(view: RunView) -> str:
    pairs = view.signoffs()
    if not pairs:
        return (
            '<section id="gonogo-signoffs" class="gonogo-section"><h2>Sign-offs</h2>'
            "<p>No manual item was signed off in this run.</p></section>"
        )
    rows = "".join(
        f"<tr><td>{t(r.binding['title'])}</td><td>{t(s.get('who', ''))}</td>"
        f"<td>{t(s.get('role', ''))}</td><td>{t(s.get('when', ''))}</td>"
        f"<td>{t(s.get('ticket') or s.get('link') or '')}</td>"
        f"<td>{t(s.get('expires', ''))}</td><td>{t(s.get('operator') or '')}</td></tr>"
        for r, s in pairs
    )
    return (
        '<section id="gonogo-signoffs" class="gonogo-section"><h2>Sign-offs</h2>'
        '<table class="gonogo-table signoffs"><thead><tr><th>Item</th><th>Who</th><th>Role</th>'
        "<th>When</th><th>Ticket</th><th>Expires</th><th>Release run by</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def evidence_html(result_title: str, entries: list[dict[str, Any]], message: str) -> str:
    """The evidence of one test for its row in pytest-html's results table."""
    parts = [f'<div class="gonogo-extra"><div class="ev-title">{t(result_title)}</div>']
    if message:
        parts.append(f'<pre class="message">{t(first_line(message))}</pre>')
    parts += [evidence_entry(e) for e in entries]
    parts.append("</div>")
    return "".join(parts)


def full_view(view: RunView) -> str:
    return (
        '<div id="gonogo">'
        + banner(view)
        + gates_and_rollback(view)
        + timeline(view)
        + load_charts(view)
        + checklist(view)
        + signoffs(view)
        + "</div>"
    )
