"""The GitHub REST endpoints that the code-review, CI and release-notes
checks call, answering with the documented JSON shapes (the fields a client
reads, not every field GitHub sends): combined commit status, check runs,
pull requests of a commit, a pull request, its reviews, a release by tag and
the rate limit. Every route needs ``Authorization: Bearer <token>`` (or
``token <token>``); the data comes from the fakes' state file."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services.fakes import state
from gonogo_sandbox.services.fakes.server import App, Request, Response, json_response

TOKEN_ENV = "GONOGO_SANDBOX_GITHUB_TOKEN"
DEFAULT_TOKEN = "sandbox-github-token"
"""The token the GitHub fake accepts unless ``TOKEN_ENV`` names another."""
API_VERSION = "2022-11-28"
RATE_LIMIT = 5000
TIMESTAMP = "2025-06-02T16:00:00Z"
DOCS = "https://docs.github.com/rest"


def token() -> str:
    return os.environ.get(TOKEN_ENV, DEFAULT_TOKEN)


def _id(*parts: object) -> int:
    """A stable numeric id for an object, as GitHub gives every object one."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:8], 16)


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": _id("user", login), "type": "User", "site_admin": False}


def _error(status: int, message: str) -> Response:
    return json_response(
        {"message": message, "documentation_url": DOCS, "status": str(status)}, status
    )


class GitHub(App):
    name = "github"

    def __init__(self, cfg: SandboxConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.base = cfg.url("github")
        repo = "/repos/{owner}/{repo}"
        self.add("GET", repo + "/commits/{ref}/status", self.combined_status)
        self.add("GET", repo + "/commits/{ref}/check-runs", self.check_runs)
        self.add("GET", repo + "/commits/{ref}/pulls", self.commit_pulls)
        self.add("GET", repo + "/pulls/{number}", self.pull)
        self.add("GET", repo + "/pulls/{number}/reviews", self.reviews)
        self.add("GET", repo + "/releases/tags/{tag}", self.release)
        self.add("GET", "/rate_limit", self.rate_limit)

    # -- plumbing ---------------------------------------------------------

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        reset = int(time.time()) // 3600 * 3600 + 3600
        response.headers.update(
            {
                "X-GitHub-Api-Version": API_VERSION,
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Used": "1",
                "X-RateLimit-Resource": "core",
            }
        )
        return response

    def before(self, request: Request) -> Response | None:
        if request.bearer_token() != token():
            return _error(401, "Bad credentials")
        return None

    def not_found(self, request: Request) -> Response:
        return _error(404, "Not Found")

    def _repo(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        full_name = f"{request.params['owner']}/{request.params['repo']}"
        repos = state.load(self.cfg).get("github", {}).get("repositories", {})
        for name, data in repos.items():
            if name.lower() == full_name.lower():  # GitHub ignores case here
                return name, data
        return None

    def _commit(self, request: Request) -> tuple[str, str, dict[str, Any], dict[str, Any]] | None:
        """(repository, sha, repository data, commit data) for the ``ref`` parameter."""
        found = self._repo(request)
        if found is None:
            return None
        name, data = found
        ref = request.params["ref"]
        sha = data.get("refs", {}).get(ref, ref)
        commit = data.get("commits", {}).get(sha)
        return None if commit is None else (name, sha, data, commit)

    def _repo_url(self, name: str) -> str:
        return f"{self.base}/repos/{name}"

    def _minimal_repository(self, name: str) -> dict[str, Any]:
        owner, _, short = name.partition("/")
        return {
            "id": _id("repo", name),
            "name": short,
            "full_name": name,
            "private": True,
            "owner": {**_user(owner), "type": "Organization"},
            "html_url": f"{self.base}/{name}",
            "url": self._repo_url(name),
        }

    # -- endpoints ---------------------------------------------------------

    def combined_status(self, request: Request) -> Response:
        found = self._commit(request)
        if found is None:
            return _error(404, f"No commit found for SHA: {request.params['ref']}")
        name, sha, _, commit = found
        statuses = [
            {
                "url": f"{self._repo_url(name)}/statuses/{sha}",
                "id": _id("status", name, sha, s["context"]),
                "node_id": f"SC_{_id('status', name, sha, s['context'])}",
                "state": s["state"],
                "description": s.get("description", ""),
                "target_url": f"{self.base}/{name}/actions",
                "context": s["context"],
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            }
            for s in commit.get("statuses", [])
        ]
        states = {s["state"] for s in statuses}
        if states & {"failure", "error"}:
            combined = "failure"
        elif not statuses or "pending" in states:
            combined = "pending"
        else:
            combined = "success"
        return json_response(
            {
                "state": combined,
                "statuses": statuses,
                "sha": sha,
                "total_count": len(statuses),
                "repository": self._minimal_repository(name),
                "commit_url": f"{self._repo_url(name)}/commits/{sha}",
                "url": f"{self._repo_url(name)}/commits/{sha}/status",
            }
        )

    def check_runs(self, request: Request) -> Response:
        found = self._commit(request)
        if found is None:
            return _error(404, f"No commit found for SHA: {request.params['ref']}")
        name, sha, _, commit = found
        wanted_name, wanted_status = request.arg("check_name"), request.arg("status")
        runs = []
        for run in commit.get("check_runs", []):
            if wanted_name and run["name"] != wanted_name:
                continue
            if wanted_status and run.get("status") != wanted_status:
                continue
            run_id = _id("check", name, sha, run["name"])
            run_url = f"{self._repo_url(name)}/check-runs/{run_id}"
            completed = run.get("status", "completed") == "completed"
            runs.append(
                {
                    "id": run_id,
                    "head_sha": sha,
                    "node_id": f"CR_{run_id}",
                    "external_id": "",
                    "url": run_url,
                    "html_url": f"{self.base}/{name}/runs/{run_id}",
                    "details_url": f"{self.base}/{name}/actions/runs/{run_id}",
                    "status": run.get("status", "completed"),
                    "conclusion": run.get("conclusion") if completed else None,
                    "started_at": TIMESTAMP,
                    "completed_at": TIMESTAMP if completed else None,
                    "output": {
                        "title": run.get("title"),
                        "summary": run.get("summary"),
                        "text": None,
                        "annotations_count": 0,
                        "annotations_url": f"{run_url}/annotations",
                    },
                    "name": run["name"],
                    "check_suite": {"id": _id("suite", name, sha)},
                    "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
                    "pull_requests": [],
                }
            )
        return json_response({"total_count": len(runs), "check_runs": runs})

    def _pull_object(self, name: str, data: dict[str, Any], number: int) -> dict[str, Any] | None:
        pull = data.get("pulls", {}).get(str(number))
        if pull is None:
            return None
        merged = bool(pull.get("merged"))
        url = f"{self._repo_url(name)}/pulls/{number}"

        def branch(ref: str, sha: str) -> dict[str, Any]:
            owner = name.partition("/")[0]
            return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha,
                    "repo": self._minimal_repository(name)}  # fmt: skip

        base_sha = data.get("refs", {}).get(pull.get("base", "main"), "")
        return {
            "url": url,
            "id": _id("pull", name, number),
            "node_id": f"PR_{_id('pull', name, number)}",
            "html_url": f"{self.base}/{name}/pull/{number}",
            "number": number,
            "state": pull.get("state", "open"),
            "locked": False,
            "title": pull.get("title", ""),
            "user": _user(pull.get("user", "octocat")),
            "body": pull.get("body", ""),
            "labels": [],
            "draft": False,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "closed_at": TIMESTAMP if pull.get("state") == "closed" else None,
            "merged_at": TIMESTAMP if merged else None,
            "merge_commit_sha": pull.get("head_sha") if merged else None,
            "head": branch(pull.get("head", "feature"), pull.get("head_sha", "")),
            "base": branch(pull.get("base", "main"), base_sha),
            "merged": merged,
            "mergeable": None if merged else True,
            "mergeable_state": "unknown" if merged else "clean",
            "review_comments_url": f"{url}/comments",
            "commits_url": f"{url}/commits",
            "statuses_url": f"{self._repo_url(name)}/statuses/{pull.get('head_sha', '')}",
        }

    def commit_pulls(self, request: Request) -> Response:
        found = self._commit(request)
        if found is None:
            return _error(404, f"No commit found for SHA: {request.params['ref']}")
        name, _, data, commit = found
        pulls = [self._pull_object(name, data, int(n)) for n in commit.get("pulls", [])]
        return json_response([p for p in pulls if p is not None])

    def _pull_request(self, request: Request) -> tuple[str, dict[str, Any], int] | None:
        found = self._repo(request)
        if found is None or not request.params["number"].isdigit():
            return None
        return found[0], found[1], int(request.params["number"])

    def pull(self, request: Request) -> Response:
        found = self._pull_request(request)
        pull = self._pull_object(*found) if found else None
        return json_response(pull) if pull else _error(404, "Not Found")

    def reviews(self, request: Request) -> Response:
        found = self._pull_request(request)
        if not found or str(found[2]) not in found[1].get("pulls", {}):
            return _error(404, "Not Found")
        name, data, number = found
        pull = data["pulls"][str(number)]
        reviews = []
        for index, review in enumerate(pull.get("reviews", [])):
            review_id = _id("review", name, number, index)
            reviews.append(
                {
                    "id": review_id,
                    "node_id": f"PRR_{review_id}",
                    "user": _user(review.get("user", "reviewer")),
                    "body": review.get("body", ""),
                    "state": review.get("state", "COMMENTED"),
                    "html_url": f"{self.base}/{name}/pull/{number}#pullrequestreview-{review_id}",
                    "pull_request_url": f"{self._repo_url(name)}/pulls/{number}",
                    "author_association": "MEMBER",
                    "submitted_at": TIMESTAMP,
                    "commit_id": review.get("commit_id", pull.get("head_sha", "")),
                }
            )
        return json_response(reviews)

    def release(self, request: Request) -> Response:
        found = self._repo(request)
        tag = request.params["tag"]
        release = found[1].get("releases", {}).get(tag) if found else None
        if found is None or release is None:
            return _error(404, "Not Found")
        name = found[0]
        release_id = _id("release", name, tag)
        url = f"{self._repo_url(name)}/releases/{release_id}"
        return json_response(
            {
                "url": url,
                "html_url": f"{self.base}/{name}/releases/tag/{tag}",
                "assets_url": f"{url}/assets",
                "upload_url": f"{url}/assets{{?name,label}}",
                "tarball_url": f"{self._repo_url(name)}/tarball/{tag}",
                "zipball_url": f"{self._repo_url(name)}/zipball/{tag}",
                "id": release_id,
                "node_id": f"RE_{release_id}",
                "tag_name": tag,
                "target_commitish": release.get("target_commitish", "main"),
                "name": release.get("name", tag),
                "body": release.get("body", ""),
                "draft": bool(release.get("draft")),
                "prerelease": bool(release.get("prerelease")),
                "created_at": TIMESTAMP,
                "published_at": None if release.get("draft") else TIMESTAMP,
                "author": _user("release-bot"),
                "assets": [],
            }
        )

    def rate_limit(self, request: Request) -> Response:
        reset = int(time.time()) // 3600 * 3600 + 3600

        def bucket(limit: int, resource: str) -> dict[str, Any]:
            return {"limit": limit, "used": 1, "remaining": limit - 1, "reset": reset,
                    "resource": resource}  # fmt: skip

        core = bucket(RATE_LIMIT, "core")
        return json_response(
            {
                "resources": {
                    "core": core,
                    "search": bucket(30, "search"),
                    "graphql": bucket(RATE_LIMIT, "graphql"),
                },
                "rate": core,
            }
        )
