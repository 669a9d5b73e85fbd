"""gonogo's Locust user, as a locustfile Locust's own worker can run.

    locust --worker --master-host HOST --master-port PORT \\
        -f "$(python -m gonogo.integrations.load.locustfile --print-path)"

or, where only Locust is installed, ``-f -`` (the worker downloads this file
from gonogo's master). The file needs nothing but Locust and the standard
library, so a worker does not need gonogo.

A worker gets the load profile from the master, never from its own files: the
master runs with the spec as its custom argument ``--gonogo-spec`` (JSON), and
Locust forwards a master's custom arguments to every worker in the message
that starts the run. On ``test_start`` (fired on a worker after that message
arrived, before its users are spawned) the user class takes the spec: paths
and weights, think time, timeouts and headers. The base URL comes in the same
message as the master's host.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # before Locust: printing the path needs no gevent
    if sys.argv[1:] == ["--print-path"]:
        print(__file__)
        sys.exit(0)
    sys.exit("usage: python -m gonogo.integrations.load.locustfile --print-path")

# isort: split
import json
import logging
import random
from typing import Any, ClassVar

from locust import FastHttpUser, events, runners, task
from locust.env import Environment
from locust.exception import StopUser

SPEC_ARGUMENT = "--gonogo-spec"
SPEC_OPTION = "gonogo_spec"
"""The custom Locust argument that carries the spec as JSON, and its attribute."""

log = logging.getLogger("gonogo.load.locustfile")

runners.WORKER_REPORT_INTERVAL = 1.0
"""A worker running this file reports to the master every second instead of
Locust's three, so the master's per-second history is not a staircase and its
final totals arrive soon after the users stop."""


class ProfileUser(FastHttpUser):
    """Walks the profile's paths by weight, one GET per task, named by path so
    the stats keep one line per path (and the service behind it can be told
    from the name)."""

    paths: ClassVar[list[str]] = []
    weights: ClassVar[list[int]] = []
    wait_min_s: ClassVar[float] = 0.05
    wait_max_s: ClassVar[float] = 0.2
    insecure = False

    @classmethod
    def use(cls, spec: dict[str, Any]) -> None:
        """Take a spec (the JSON of ``gonogo.integrations.load.spec.LoadSpec``).
        Class attributes, because every user of this process runs the same spec
        and FastHttpUser reads its timeouts and headers when a user starts."""
        paths = dict(spec["paths"])
        cls.paths = list(paths)
        cls.weights = [int(weight) for weight in paths.values()]
        cls.wait_min_s = float(spec.get("wait_min_s", 0.05))
        cls.wait_max_s = float(spec.get("wait_max_s", 0.2))
        timeout = float(spec.get("request_timeout_s", 10.0))
        cls.network_timeout = timeout
        cls.connection_timeout = timeout
        cls.default_headers = dict(spec.get("headers") or {}) or None
        if spec.get("base_url"):
            cls.host = str(spec["base_url"])

    def wait_time(self) -> float:
        return random.uniform(self.wait_min_s, self.wait_max_s)

    def on_start(self) -> None:
        if not self.paths:
            log.error(
                "no gonogo load spec reached this worker; its master must be started by "
                "gonogo (python -m gonogo.integrations.load.runner --role master)"
            )
            raise StopUser()

    @task
    def walk(self) -> None:
        path = random.choices(self.paths, weights=self.weights)[0]
        self.client.get(path, name=path)


@events.init_command_line_parser.add_listener
def _spec_argument(parser: Any, **_: Any) -> None:
    parser.add_argument(
        SPEC_ARGUMENT,
        default="",
        include_in_web_ui=False,
        help="gonogo's load spec as JSON; set by gonogo's master, forwarded to the workers",
    )


@events.test_start.add_listener
def _take_spec(environment: Environment, **_: Any) -> None:
    raw = getattr(environment.parsed_options, SPEC_OPTION, "") if environment.parsed_options else ""
    if raw:
        ProfileUser.use(json.loads(raw))
