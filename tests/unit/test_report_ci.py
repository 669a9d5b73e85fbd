"""The CI examples in docs/ci/ parse and gate the deploy on the pre-deployment run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DOCS / "ci" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _run_lines(steps: list[dict[str, Any]]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps)


def test_github_actions_runs_staging_then_gates_deploy_on_predeploy_and_keeps_reports() -> None:
    wf = load("github-actions.yml")
    jobs = wf["jobs"]
    assert list(jobs) == ["staging", "predeploy", "deploy"]
    assert jobs["predeploy"]["needs"] == "staging"  # the gate reads staging's record
    assert jobs["deploy"]["needs"] == "predeploy"
    assert "-m staging" in _run_lines(jobs["staging"]["steps"])
    assert jobs["deploy"]["environment"] == "production"
    assert "-m predeploy" in _run_lines(jobs["predeploy"]["steps"])
    assert "--execute --rollback=auto" in _run_lines(jobs["deploy"]["steps"])
    for name, job in jobs.items():
        uploads = [
            s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")
        ]
        assert len(uploads) == 1, name
        assert uploads[0]["if"] == "always()", f"{name}: a NO-GO report must be uploaded too"
        assert uploads[0]["with"]["path"] == "reports/"
        junit = [s for s in job["steps"] if "junit" in str(s.get("uses", ""))]
        assert junit and junit[0]["with"]["report_paths"] == "reports/junit.xml", name
        assert junit[0]["if"] == "always()"
        assert "--junitxml reports/junit.xml" in _run_lines(job["steps"])
    assert wf["permissions"]["checks"] == "write"


def test_gitlab_ci_runs_staging_then_predeploy_and_feeds_junit() -> None:
    ci = load("gitlab-ci.yml")
    assert ci["stages"] == ["staging", "predeploy", "deploy"]
    jobs = {k: v for k, v in ci.items() if isinstance(v, dict) and "script" in v}
    assert list(jobs) == ["staging", "predeploy", "deploy"]
    assert jobs["predeploy"]["needs"] == ["staging"]
    assert "-m staging" in "\n".join(jobs["staging"]["script"])
    assert jobs["predeploy"]["stage"] == "predeploy"
    assert jobs["deploy"]["stage"] == "deploy"
    assert jobs["deploy"]["needs"] == ["predeploy"]
    assert ci["stages"].index(jobs["predeploy"]["stage"]) < ci["stages"].index(
        jobs["deploy"]["stage"]
    )
    assert "-m predeploy" in "\n".join(jobs["predeploy"]["script"])
    for name, job in jobs.items():
        artifacts = job["artifacts"]
        assert artifacts["when"] == "always", name
        assert artifacts["paths"] == ["reports/"]
        assert artifacts["reports"]["junit"] == "reports/junit.xml"
        assert "--junitxml reports/junit.xml" in "\n".join(job["script"])


def test_ci_doc_links_both_examples() -> None:
    text = (DOCS / "ci.md").read_text(encoding="utf-8")
    assert "(ci/github-actions.yml)" in text and "(ci/gitlab-ci.yml)" in text
