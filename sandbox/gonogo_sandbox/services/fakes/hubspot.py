"""HubSpot's account and CRM endpoints that the integration checks call:
``GET /account-info/v3/details`` and ``GET /crm/v3/objects/contacts``, behind
a private-app bearer token, with HubSpot's error shape."""

from __future__ import annotations

import os
import uuid

from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services.fakes import state
from gonogo_sandbox.services.fakes.server import App, Request, Response, json_response

TOKEN_ENV = "GONOGO_SANDBOX_HUBSPOT_TOKEN"
DEFAULT_TOKEN = "sandbox-hubspot-token"
"""The token the HubSpot fake accepts unless ``TOKEN_ENV`` names another."""
CREATED = "2025-04-01T08:00:00.000Z"


def token() -> str:
    return os.environ.get(TOKEN_ENV, DEFAULT_TOKEN)


def _error(status: int, category: str, message: str) -> Response:
    return json_response(
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
        },
        status,
    )


class HubSpot(App):
    name = "hubspot"

    def __init__(self, cfg: SandboxConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.add("GET", "/account-info/v3/details", self.account)
        self.add("GET", "/crm/v3/objects/contacts", self.contacts)

    def before(self, request: Request) -> Response | None:
        if request.bearer_token() != token():
            return _error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at the developer docs.",
            )
        if not state.load(self.cfg).get("hubspot", {}).get("available", True):
            return _error(503, "SERVICE_UNAVAILABLE", "HubSpot is temporarily unavailable.")
        return None

    def not_found(self, request: Request) -> Response:
        return _error(404, "OBJECT_NOT_FOUND", f"No route for {request.path}")

    def account(self, request: Request) -> Response:
        hub = state.load(self.cfg).get("hubspot", {})
        return json_response(
            {
                "portalId": hub.get("portal_id", 4242011),
                "accountType": "DEVELOPER_TEST",
                "timeZone": hub.get("time_zone", "Europe/London"),
                "companyCurrency": hub.get("currency", "GBP"),
                "additionalCurrencies": [],
                "utcOffset": "+00:00",
                "utcOffsetMilliseconds": 0,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "eu1",
            }
        )

    def contacts(self, request: Request) -> Response:
        contacts = state.load(self.cfg).get("hubspot", {}).get("contacts", [])
        try:
            limit = min(max(int(request.arg("limit") or 10), 1), 100)
            after = int(request.arg("after") or 0)
        except ValueError:
            return _error(400, "VALIDATION_ERROR", "limit and after must be integers")
        page = contacts[after : after + limit]
        results = [
            {
                "id": str(after + i + 1),
                "properties": {
                    "createdate": CREATED,
                    "email": contact.get("email"),
                    "firstname": contact.get("firstname"),
                    "hs_object_id": str(after + i + 1),
                    "lastmodifieddate": CREATED,
                    "lastname": contact.get("lastname"),
                },
                "createdAt": CREATED,
                "updatedAt": CREATED,
                "archived": False,
            }
            for i, contact in enumerate(page)
        ]
        body: dict[str, object] = {"results": results}
        if after + limit < len(contacts):
            next_after = str(after + limit)
            link = f"/crm/v3/objects/contacts?limit={limit}&after={next_after}"
            body["paging"] = {"next": {"after": next_after, "link": link}}
        return json_response(body)
