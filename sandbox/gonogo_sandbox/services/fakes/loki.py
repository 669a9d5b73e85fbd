"""Loki's readiness, push and query endpoints, enough for the log-aggregation
check: push a line with a unique label, then find it again.

Push takes Loki's JSON format (``{"streams": [{"stream": {labels},
"values": [["<unix ns>", "<line>"]]}]}``, optionally gzip-encoded); the
protobuf format is refused with 415. Queries take a LogQL stream selector
with ``=``, ``!=``, ``=~``, ``!~`` matchers, followed by any number of line
filters (``|=``, ``!=``, ``|~``, ``!~``), and answer with a ``streams``
result as Loki does. Lines are kept in memory, newest ``KEEP`` only."""

from __future__ import annotations

import gzip
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services.fakes import state
from gonogo_sandbox.services.fakes.server import (
    App,
    Request,
    Response,
    json_response,
    text_response,
)

KEEP = 100_000
"""Log lines kept in memory."""
DEFAULT_LOOKBACK_NS = 3600 * 10**9
"""Loki's default query window: the last hour."""

_STRING = r'"((?:[^"\\]|\\.)*)"|`([^`]*)`'
_MATCHER = re.compile(rf"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:{_STRING})\s*(,|$)")
_FILTER = re.compile(rf"\s*(\|=|!=|\|~|!~)\s*(?:{_STRING})")


class LogQLError(ValueError):
    """The query is outside the LogQL subset this fake understands."""


@dataclass(frozen=True)
class Entry:
    labels: tuple[tuple[str, str], ...]
    ts_ns: int
    line: str


def _unquote(double: str | None, backtick: str | None) -> str:
    if backtick is not None:
        return backtick
    return re.sub(r"\\(.)", r"\1", double or "")


def parse_query(query: str) -> Callable[[Entry], bool]:
    """A predicate for ``{selector} filters…``; LogQLError when unsupported."""
    match = re.fullmatch(r"\s*\{(.*?)\}(.*)", query, re.DOTALL)
    if not match:
        raise LogQLError('parse error: a query starts with a stream selector such as {app="x"}')
    selector, pipeline = match.groups()
    label_tests: list[Callable[[dict[str, str]], bool]] = []
    pos = 0
    while pos < len(selector):
        m = _MATCHER.match(selector, pos)
        if not m:
            raise LogQLError(f"parse error in stream selector at {selector[pos:]!r}")
        name, op, value = m.group(1), m.group(2), _unquote(m.group(3), m.group(4))
        label_tests.append(_label_test(name, op, value))
        pos = m.end()
    if not label_tests:
        raise LogQLError("parse error: the stream selector needs at least one matcher")
    line_tests: list[Callable[[str], bool]] = []
    pos = 0
    while pipeline[pos:].strip():
        m = _FILTER.match(pipeline, pos)
        if not m:
            raise LogQLError(
                f"unsupported pipeline stage {pipeline[pos:].strip()!r}: the sandbox's Loki "
                "takes line filters (|= != |~ !~) only"
            )
        line_tests.append(_line_test(m.group(1), _unquote(m.group(2), m.group(3))))
        pos = m.end()

    def predicate(entry: Entry) -> bool:
        labels = dict(entry.labels)
        return all(t(labels) for t in label_tests) and all(t(entry.line) for t in line_tests)

    return predicate


def _label_test(name: str, op: str, value: str) -> Callable[[dict[str, str]], bool]:
    if op == "=":
        return lambda labels: labels.get(name, "") == value
    if op == "!=":
        return lambda labels: labels.get(name, "") != value
    regex = re.compile(value)
    if op == "=~":
        return lambda labels: regex.fullmatch(labels.get(name, "")) is not None
    return lambda labels: regex.fullmatch(labels.get(name, "")) is None


def _line_test(op: str, value: str) -> Callable[[str], bool]:
    if op == "|=":
        return lambda line: value in line
    if op == "!=":
        return lambda line: value not in line
    regex = re.compile(value)
    if op == "|~":
        return lambda line: regex.search(line) is not None
    return lambda line: regex.search(line) is None


def parse_time(text: str | None, default_ns: int) -> int:
    """Loki's time parameters: Unix nanoseconds, Unix seconds (with a
    fraction) or RFC 3339."""
    if not text:
        return default_ns
    if re.fullmatch(r"\d+", text):
        number = int(text)
        return number if number > 10**14 else number * 10**9
    try:
        return int(float(text) * 10**9)
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 10**9)
    except ValueError as e:
        raise LogQLError(f"invalid time {text!r}: use Unix nanoseconds or RFC 3339") from e


class Loki(App):
    name = "loki"

    def __init__(self, cfg: SandboxConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=KEEP)
        self.add("GET", "/ready", self.ready)
        self.add("POST", "/loki/api/v1/push", self.push)
        self.add("GET", "/loki/api/v1/query_range", self.query_range)
        self.add("GET", "/loki/api/v1/query", self.query)
        self.add("GET", "/loki/api/v1/labels", self.labels)

    def ready(self, request: Request) -> Response:
        if state.load(self.cfg).get("loki", {}).get("ready", True):
            return text_response("ready\n")
        return text_response("Ingester not ready: waiting for 15s after being ready\n", 503)

    def push(self, request: Request) -> Response:
        if "json" not in (request.headers.get("Content-Type") or ""):
            return text_response(
                "the sandbox's Loki takes the JSON push format only: "
                "send Content-Type: application/json\n",
                415,
            )
        body = request.body
        if (request.headers.get("Content-Encoding") or "").lower() == "gzip":
            body = gzip.decompress(body)
        request.body = body
        try:
            payload = request.json()
            new = [
                Entry(tuple(sorted(stream["stream"].items())), int(value[0]), str(value[1]))
                for stream in payload["streams"]
                for value in stream["values"]
            ]
        except (ValueError, KeyError, TypeError, IndexError) as e:
            return text_response(f"invalid push payload: {e}\n", 400)
        with self._lock:
            self._entries.extend(new)
        return Response(204)

    def _select(self, request: Request, start_ns: int, end_ns: int) -> Response:
        query = request.arg("query")
        if not query:
            return text_response("query parameter is required\n", 400)
        try:
            predicate = parse_query(query)
            limit = int(request.arg("limit") or 100)
        except (LogQLError, re.error, ValueError) as e:
            return text_response(f"{e}\n", 400)
        forward = request.arg("direction", "backward") == "forward"
        with self._lock:
            found = [e for e in self._entries if start_ns <= e.ts_ns < end_ns and predicate(e)]
        found.sort(key=lambda e: e.ts_ns, reverse=not forward)
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for entry in found[:limit]:
            streams.setdefault(entry.labels, []).append([str(entry.ts_ns), entry.line])
        result = [{"stream": dict(labels), "values": values} for labels, values in streams.items()]
        stats = {"summary": {"totalEntriesReturned": min(len(found), limit)}}
        return json_response(
            {"status": "success", "data": {"resultType": "streams", "result": result,
                                           "stats": stats}}
        )  # fmt: skip

    def query_range(self, request: Request) -> Response:
        now = time.time_ns()
        try:
            end = parse_time(request.arg("end"), now)
            start = parse_time(request.arg("start"), end - DEFAULT_LOOKBACK_NS)
        except LogQLError as e:
            return text_response(f"{e}\n", 400)
        return self._select(request, start, end + 1)

    def query(self, request: Request) -> Response:
        try:
            at = parse_time(request.arg("time"), time.time_ns())
        except LogQLError as e:
            return text_response(f"{e}\n", 400)
        return self._select(request, at - DEFAULT_LOOKBACK_NS, at + 1)

    def labels(self, request: Request) -> Response:
        with self._lock:
            names = sorted({name for e in self._entries for name, _ in e.labels})
        return json_response({"status": "success", "data": names})
