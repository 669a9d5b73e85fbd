"""Tell people: POST a JSON message to each of an environment's webhooks.

Every webhook is tried, each with its own timeout, and every answer is
returned, so a check can record who was told and who could not be reached.
A webhook's token (by reference) goes in the Authorization header and never
into the answer, the evidence or the logs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from gonogo.integrations.secrets import SecretResolver, SecretUnavailable


@dataclass
class Delivery:
    """The answer of one webhook."""

    url: str
    status: int | None
    elapsed_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def row(self) -> dict[str, Any]:
        return {
            "webhook": self.url,
            "status": self.status if self.status is not None else "-",
            "seconds": round(self.elapsed_s, 3),
            "error": self.error or "",
        }


def message(event: str, text: str, **fields: Any) -> dict[str, Any]:
    """A notification body: Slack-compatible ``text`` plus structured fields."""
    return {
        "event": event,
        "text": text,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
    }


def send(
    webhooks: Sequence[Any], body: dict[str, Any], *, secrets: SecretResolver | None = None
) -> list[Delivery]:
    """POST ``body`` to each webhook (objects with ``url``, ``timeout_s`` and
    an optional ``token`` reference). ``secrets`` reads the tokens
    (``resolver_for(target, environment)``); without it, only environment and
    file references can be read. A token that cannot be read is that
    webhook's error; the others are still told."""
    resolver = secrets or SecretResolver()
    deliveries: list[Delivery] = []
    for hook in webhooks:
        headers = {"Content-Type": "application/json", "User-Agent": "gonogo"}
        if getattr(hook, "token", None) is not None:
            try:
                headers["Authorization"] = f"Bearer {resolver.resolve(hook.token)}"
            except SecretUnavailable as e:
                deliveries.append(Delivery(hook.url, None, 0.0, str(e)))
                continue
        started = time.monotonic()
        try:
            with httpx.Client(timeout=hook.timeout_s) as client:
                response = client.post(hook.url, json=body, headers=headers)
            error = None if response.is_success else f"answered {response.status_code}"
            deliveries.append(
                Delivery(hook.url, response.status_code, time.monotonic() - started, error)
            )
        except httpx.HTTPError as e:
            deliveries.append(
                Delivery(
                    hook.url,
                    None,
                    time.monotonic() - started,
                    f"cannot reach it ({e.__class__.__name__}); check the webhook URL",
                )
            )
    return deliveries
