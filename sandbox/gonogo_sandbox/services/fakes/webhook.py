"""The webhook receiver: where notifications (Slack-style JSON messages,
Alertmanager's webhook payloads) land in the sandbox. It records every JSON
body it receives so a test or a check can prove a message was delivered.

``POST /hooks/<name>`` records; ``GET /_sandbox/received[?name=<name>]``
lists what was recorded, oldest first; ``DELETE /_sandbox/received`` forgets."""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime

from gonogo_sandbox.services.fakes.server import App, Request, Response, json_response

KEEP = 1000
"""Messages kept; older ones are dropped first."""
HEADERS_KEPT = ("Content-Type", "User-Agent")
"""Only these request headers are recorded: others may carry credentials."""
RECEIVED_PATH = "/_sandbox/received"


class Webhook(App):
    name = "webhook"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._received: deque[dict[str, object]] = deque(maxlen=KEEP)
        self.add("POST", "/hooks/{name}", self.receive)
        self.add("GET", RECEIVED_PATH, self.listing)
        self.add("DELETE", RECEIVED_PATH, self.forget)

    def receive(self, request: Request) -> Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            return json_response({"ok": False, "error": "the body must be JSON"}, 400)
        entry = {
            "name": request.params["name"],
            "received_at": datetime.now(UTC).isoformat(),
            "headers": {h: request.headers[h] for h in HEADERS_KEPT if h in request.headers},
            "body": body,
        }
        with self._lock:
            self._received.append(entry)
        return json_response({"ok": True})

    def listing(self, request: Request) -> Response:
        name = request.arg("name")
        with self._lock:
            entries = [e for e in self._received if name is None or e["name"] == name]
        return json_response({"received": entries})

    def forget(self, request: Request) -> Response:
        with self._lock:
            self._received.clear()
        return json_response({"ok": True})
