"""The Locust user that walks a load profile's paths by weight.

Imported only by :mod:`gonogo.integrations.load.runner`, in a process where Locust (and so
gevent's monkey-patching) came first."""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, between, task

from gonogo.integrations.load.spec import LoadSpec


def build_user_class(spec: LoadSpec) -> type[FastHttpUser]:
    """A ``FastHttpUser`` subclass with one task per path, weighted as the profile
    says. Requests are named by their path, so the stats keep one line per
    path and the service behind it can be told from the name."""
    tasks: dict[Any, int] = {}
    for path, weight in spec.paths.items():
        tasks[_request(path)] = weight

    attributes: dict[str, Any] = {
        "host": spec.base_url,
        "wait_time": between(spec.wait_min_s, spec.wait_max_s),
        "tasks": tasks,
        "network_timeout": spec.request_timeout_s,
        "connection_timeout": spec.request_timeout_s,
        "insecure": False,
        "default_headers": dict(spec.headers) or None,
    }
    return type("ProfileUser", (FastHttpUser,), attributes)


def _request(path: str) -> Any:
    def call(user: FastHttpUser) -> None:
        user.client.get(path, name=path)

    call.__name__ = f"get {path}"
    return task(call)
