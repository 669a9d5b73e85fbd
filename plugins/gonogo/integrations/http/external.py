"""External APIs, probed where they document authentication.

A health path often answers anonymously; to prove that an integration works
(and that its endpoints really require a credential) the checks call an
endpoint the API documents as authenticated: GitHub's ``/rate_limit``,
HubSpot's ``/account-info/v3/details``. Other APIs use their health path."""

from __future__ import annotations

from typing import Any

from gonogo.integrations.http.client import HttpRequest

DOCUMENTED: dict[str, tuple[str, str]] = {
    "github": ("/rate_limit", "resources"),
    "hubspot": ("/account-info/v3/details", "portalId"),
}
"""API name -> (authenticated endpoint, a field its documented answer carries)."""


def endpoint(api: Any) -> tuple[str, str | None]:
    path, field = DOCUMENTED.get(api.name, (api.health_path, None))
    return path, field


def requests_for(api: Any, environment: str, token: str | None) -> tuple[HttpRequest, HttpRequest]:
    """(anonymous, authenticated) requests to the API's documented endpoint."""
    path, _ = endpoint(api)
    url = api.url_for(environment) + path
    anonymous = HttpRequest(f"{api.name} anonymous", url, timeout=api.timeout_s)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    authed = HttpRequest(f"{api.name} authenticated", url, headers=headers, timeout=api.timeout_s)
    return anonymous, authed
