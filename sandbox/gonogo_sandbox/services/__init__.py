"""The services around the sandbox's cluster, one module each, in start order.

Each module has ``NAME``, ``start(cfg)`` (idempotent: a running, ready
service is left alone), ``stop(cfg)`` and ``status(cfg) -> (up, address)``.
The webhook receiver is started before Alertmanager, which delivers to it,
and Alertmanager before Prometheus, which sends it alerts."""

from __future__ import annotations

from types import ModuleType

from gonogo_sandbox.services import alertmanager, fakes, prometheus, redis, registry, tls

ALL: list[ModuleType] = [redis, fakes, alertmanager, prometheus, registry, tls]
