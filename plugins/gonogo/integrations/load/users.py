"""The Locust user that walks a load profile's paths by weight.

Imported only by :mod:`gonogo.integrations.load.runner` (and benchmarks that
run the same user), in a process where Locust (and so gevent's
monkey-patching) came first. The class itself lives in
:mod:`gonogo.integrations.load.locustfile`, so a local run, a master and
Locust's own ``locust --worker`` processes all run the very same user."""

from __future__ import annotations

from dataclasses import asdict

from gonogo.integrations.load.locustfile import ProfileUser
from gonogo.integrations.load.spec import LoadSpec


def build_user_class(spec: LoadSpec) -> type[ProfileUser]:
    """The profile user, set to ``spec``: paths by weight, think time,
    timeouts, headers and base URL."""
    ProfileUser.use(asdict(spec))
    return ProfileUser
