"""The GitHub REST API, for the questions a release gate asks: did CI pass
on the release commit, was its pull request approved, are its notes
published. Every call has a timeout and maps failures to ProbeError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gonogo.errors import ProbeError, RetryableProbeError

GOOD_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
"""Check-run conclusions that do not block a release."""


@dataclass(frozen=True)
class Review:
    user: str
    state: str


class GitHub:
    """One repository on one GitHub API (github.com or an Enterprise server)."""

    def __init__(self, api_url: str, repository: str, token: str | None, *, timeout: float = 10.0):
        self.repository = repository
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=api_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> Any:
        url = f"/repos/{self.repository}{path}"
        try:
            response = self._client.get(url, params=params or None)
        except httpx.HTTPError as e:
            raise RetryableProbeError(
                f"GitHub API at {self._client.base_url} did not answer GET {url}: "
                f"{e.__class__.__name__}; check github.api_url and the network"
            ) from e
        if response.status_code in (401, 403):
            raise ProbeError(
                f"GitHub API refused GET {url} ({response.status_code}); check the token "
                "the target references under github.token and its repository access"
            )
        if response.status_code == 404:
            raise ProbeError(f"GitHub API: GET {url} not found (404); check github.repository")
        if response.status_code >= 400:
            raise ProbeError(f"GitHub API: GET {url} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as e:
            raise ProbeError(f"GitHub API: GET {url} did not answer JSON") from e

    def check_runs(self, ref: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._get(f"/commits/{ref}/check-runs", per_page=100, page=page)
            runs.extend(data.get("check_runs") or [])
            if len(runs) >= int(data.get("total_count", 0)) or not data.get("check_runs"):
                return runs
            page += 1

    def combined_status(self, ref: str) -> dict[str, Any]:
        return dict(self._get(f"/commits/{ref}/status", per_page=100))

    def pulls_for_commit(self, ref: str) -> list[int]:
        return [int(p["number"]) for p in self._get(f"/commits/{ref}/pulls")]

    def pull(self, number: int) -> dict[str, Any]:
        return dict(self._get(f"/pulls/{number}"))

    def reviews(self, number: int) -> list[Review]:
        data = self._get(f"/pulls/{number}/reviews", per_page=100)
        return [Review(str((r.get("user") or {}).get("login", "?")), str(r["state"])) for r in data]

    def release(self, tag: str) -> dict[str, Any]:
        return dict(self._get(f"/releases/tags/{tag}"))


def latest_review_states(reviews: list[Review]) -> dict[str, str]:
    """Each reviewer's standing verdict, as GitHub counts it: the last review
    that approved or requested changes (comments do not change a verdict)."""
    standing: dict[str, str] = {}
    for review in reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            standing[review.user] = review.state
    return standing
