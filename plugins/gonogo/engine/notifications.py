"""Stakeholder notifications on gate closures and on the verdict.

The environment's ``notification.webhooks`` receive a JSON message when a
phase fails and when the run ends. Only runs made with ``--execute`` notify:
a rehearsal (the default server-side dry run) changes nothing anyone needs to
hear about. Each answer is kept in the run log for the report.
"""

from __future__ import annotations

from typing import Any

import pytest

from gonogo.engine.runlog import runlog_of
from gonogo.engine.settings import get_settings
from gonogo.errors import ConfigError
from gonogo.model.checklist import Phase


class Notifier:
    """Posts to the webhooks of each target's environment."""

    def __init__(self, config: pytest.Config, environment: str) -> None:
        self.config = config
        self.environment = environment

    def _targets(self) -> dict[str, Any]:
        from gonogo.engine.run import TARGETS_KEY

        targets: dict[str, Any] = self.config.stash[TARGETS_KEY]
        return targets

    def _post(self, target_id: str, target: Any, body: dict[str, Any]) -> None:
        from gonogo.integrations import notify

        try:
            webhooks = target.environment(self.environment).notification.webhooks
        except ConfigError:  # a target without this environment has nobody to tell
            return
        if not webhooks:
            return
        from gonogo.integrations.secrets import resolver_for

        kube_context = get_settings(self.config).kube_context
        with resolver_for(target, self.environment, kube_context=kube_context) as secrets:
            deliveries = notify.send(webhooks, body, secrets=secrets)
        runlog_of(self.config).add(
            "notification",
            target=target_id,
            event=body["event"],
            deliveries=[d.row() for d in deliveries],
        )

    @pytest.hookimpl
    def pytest_gonogo_gate_closed(self, target_id: str, phase: Phase, failed: list[str]) -> None:
        from gonogo.integrations import notify

        target = self._targets().get(target_id)
        if target is None:
            return
        body = notify.message(
            "gate_closed",
            f"{target.name} {target.release} ({self.environment}): {phase.short_name} failed "
            f"({', '.join(failed)}); later phases are blocked",
            target=target.name,
            release=target.release,
            environment=self.environment,
            phase=phase.short_name,
            failed=list(failed),
        )
        self._post(target_id, target, body)

    @pytest.hookimpl
    def pytest_gonogo_verdict(self, verdict: Any, config: pytest.Config) -> None:
        from gonogo.integrations import notify

        lines = verdict.lines()
        for target_id, target in self._targets().items():
            body = notify.message(
                "verdict",
                f"{target.name} {target.release} ({self.environment}): {' / '.join(lines)}",
                target=target.name,
                release=target.release,
                environment=self.environment,
                go=bool(verdict.go),
                verdict=lines,
            )
            self._post(target_id, target, body)


def pytest_configure(config: pytest.Config) -> None:
    settings = get_settings(config)
    if settings.execute and settings.environment and not settings.list_checklist:
        config.pluginmanager.register(Notifier(config, settings.environment), "gonogo-notifier")
