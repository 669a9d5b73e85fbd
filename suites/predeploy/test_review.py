"""Code and Configuration Review."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.checks import (
    GOOD_CONCLUSIONS,
    ClusterSnapshot,
    Environment,
    Evidence,
    GitHub,
    KubeClient,
    ProbeError,
    RecordStore,
    ResourceMapper,
    Target,
    apply_object,
    config_scan,
    latest_review_states,
    load_documents,
    records,
    required_secrets,
    scan,
)

from suites.sections import present, required


@pytest.mark.item("Code review completed")
def test_code_review_completed(
    target: Target, github: GitHub, release_ref: str, evidence: Evidence
) -> None:
    """The release's pull request is approved and has no outstanding change request."""
    config = required(target.github, "github")
    number = config.pull_request
    if number is None:
        pulls = github.pulls_for_commit(release_ref)
        assert pulls, (
            f"no pull request contains {release_ref} in {config.repository}; "
            "name it under github.pull_request"
        )
        number = pulls[0]
    pull = github.pull(number)
    standing = latest_review_states(github.reviews(number))
    evidence.note("pull request", f"#{number} {pull.get('title')} ({pull.get('html_url')})")
    evidence.table("reviews", [{"reviewer": u, "verdict": s} for u, s in standing.items()])
    changes = [u for u, s in standing.items() if s == "CHANGES_REQUESTED"]
    approvals = [u for u, s in standing.items() if s == "APPROVED"]
    assert not changes, (
        f"pull request #{number} has outstanding change requests from {', '.join(changes)}"
    )
    assert approvals, f"pull request #{number} has no approving review; get it peer-reviewed"


@pytest.mark.item("CI/CD pipeline passing")
def test_pipeline_passing(github: GitHub, release_ref: str, evidence: Evidence) -> None:
    """Every check run and commit status of the release commit succeeded."""
    runs = github.check_runs(release_ref)
    status = github.combined_status(release_ref)
    statuses = status.get("statuses") or []
    evidence.table(
        "check runs",
        [
            {"name": r.get("name"), "status": r.get("status"), "conclusion": r.get("conclusion")}
            for r in runs
        ],
    )
    evidence.table(
        "commit statuses",
        [{"context": s.get("context"), "state": s.get("state")} for s in statuses],
    )
    assert runs or statuses, f"{release_ref} has no check runs and no statuses: CI never ran"
    unfinished = [r["name"] for r in runs if r.get("status") != "completed"]
    failed = [
        f"{r['name']} ({r.get('conclusion')})"
        for r in runs
        if r.get("status") == "completed" and r.get("conclusion") not in GOOD_CONCLUSIONS
    ]
    bad_status = [f"{s['context']} ({s['state']})" for s in statuses if s.get("state") != "success"]
    assert not failed, f"check runs failed on {release_ref}: {', '.join(failed)}"
    assert not bad_status, (
        f"commit statuses not successful on {release_ref}: {', '.join(bad_status)}"
    )
    assert not unfinished, f"check runs still running on {release_ref}: {', '.join(unfinished)}"


@pytest.mark.item("Security scan passed")
def test_security_scan_passed(
    target: Target, environment: str, env_policy: Environment, evidence: Evidence
) -> None:
    """No finding at or above the environment's limit, and the report covers the release."""
    config = present(target.security_scan, target, "security_scan", environment)
    report = scan.load(config.report, config.format)
    limit = env_policy.scan_severity_limit
    evidence.note("report", f"{report.path} ({report.format}), {len(report.targets)} artifacts")
    evidence.table(
        "findings by severity", [{"severity": s, "count": n} for s, n in report.counts().items()]
    )
    blocking = [f for f in report.findings if env_policy.severity_blocks(f.severity)]
    evidence.table("blocking findings", [f.row() for f in blocking])
    missing = []
    if target.registry is not None:
        missing = [
            target.image_ref(s)
            for s in target.release_services()
            if not report.covers(target.image_ref(s))
        ]
    assert not blocking, (
        f"{len(blocking)} findings at or above {limit} in {report.path.name}: "
        + ", ".join(f"{f.id} {f.severity} in {f.target}" for f in blocking[:5])
    )
    assert not missing, (
        f"the scan report does not cover {len(missing)} release images: {', '.join(missing[:5])}; "
        "scan every image of the release"
    )


PROOF_ENVIRONMENT = {"production": "staging"}
"""Where a pre-deployment item's proof comes from: the environment a release
passes through before this one. A result of the same environment cannot exist
before the release is deployed there, so it never counts."""


@pytest.mark.item("Performance testing", stage="Pre-Deployment Checklist")
def test_performance_testing(
    target: Target, environment: str, evidence: Evidence, run_records: RecordStore
) -> None:
    """Staging's "Performance testing" passed for this release: the newest staging
    run record of the release that ran the item, with its measured figures."""
    source = PROOF_ENVIRONMENT.get(environment)
    if source is None:
        pytest.skip(
            f"not applicable: {environment} has no earlier environment whose load results "
            "could prove this release; its own stage's load items measure it"
        )
    if source not in target.environments:
        evidence.note("not applicable", f"{target.source} has no {source} environment")
        pytest.skip(
            f"not applicable: {target.name} has no {source} environment whose load results "
            "could prove this release; the post-deployment load items measure it"
        )
    command = records.STAGING_COMMAND.format(target=target.source)
    found = records.latest_with_item(
        run_records,
        target=target.name,
        release=target.release,
        environment=source,
        stage="staging",
        title="Performance testing",
    )
    assert found is not None, (
        f"no data: no {source} run record of {target.name} {target.release} with its "
        f"'Performance testing' item in {run_records.where}; run {source} first: {command}"
    )
    record, item = found
    evidence.note(f"{source} record", record.describe())
    evidence.note(f"{source} item", f"{item.nodeid}: {item.outcome} {item.message}".strip())
    for m in item.measures:
        evidence.measure(
            str(m.get("name")),
            m["value"],
            limit=m.get("limit"),
            unit=str(m.get("unit") or ""),
            service=m.get("service"),
            ok=m.get("ok"),
        )
    assert item.passed, (
        f"{source}'s 'Performance testing' for {target.release} {item.outcome} in "
        f"{record.id} ({record.finished}): {item.message or 'no message'}; fix it and run "
        f"{source} again: {command}"
    )
    assert item.measures, (
        f"no data: {source}'s 'Performance testing' in {record.id} kept no measured figures; "
        f"run {source} again with this gonogo: {command}"
    )
    bad = [m for m in item.measures if m.get("ok") is False]
    assert not bad, (
        f"{source}'s 'Performance testing' in {record.id} passed with figures over their "
        "limits: " + "; ".join(f"{m.get('name')} {m.get('value')} vs {m.get('limit')}" for m in bad)
    )


def _foreign_tells(target: Target, environment: str) -> dict[str, set[config_scan.Tell]]:
    mine = target.base_url_for(environment) if _has_base(target, environment) else ""
    tells: dict[str, set[config_scan.Tell]] = {}
    for other in target.environments:
        if other == environment:
            continue
        found = {config_scan.Tell("name", other)}
        if target.namespaces[other] != target.namespaces[environment]:
            found.add(config_scan.Tell("namespace", target.namespaces[other]))
        if _has_base(target, other):
            theirs = target.base_url_for(other)
            if theirs != mine and target.environments[other].base_url:
                found.add(config_scan.Tell("host", theirs))
        for api in target.external_apis:
            if api.url_for(other) != api.url_for(environment):
                found.add(config_scan.Tell("host", api.url_for(other)))
        tells[other] = found
    return tells


def _has_base(target: Target, environment: str) -> bool:
    return bool(target.environments[environment].base_url or target.ingress.base_url)


@pytest.mark.item("Configuration validation")
@pytest.mark.kube_access("get,create,patch configmaps")
def test_configuration_validation(
    target: Target,
    environment: str,
    env_policy: Environment,
    namespace: str,
    kube: KubeClient,
    evidence: Evidence,
) -> None:
    """The environment's ConfigMaps render, pass a server-side dry run, hold the
    required keys and nothing that belongs to another environment."""
    if target.is_absent("configmaps", environment) and (
        "configmaps" in env_policy.absent or not env_policy.required_config_keys
    ):
        evidence.note("not applicable", f"{target.source} lists no ConfigMaps for {environment}")
        pytest.skip(f"not applicable: {target.name} has no ConfigMaps in {environment}")
    paths: list[Path] = target.configmap_paths(environment)
    assert paths, (
        f"environment {environment} requires config keys "
        f"({', '.join(env_policy.required_config_keys)}) but lists no configmaps; add "
        f"environments.{environment}.configmaps, or drop required_config_keys"
    )
    documents = load_documents(paths)
    configmaps = [d for d in documents if d.get("kind") == "ConfigMap"]
    assert configmaps, f"{', '.join(p.name for p in paths)} hold no ConfigMap"
    mapper = ResourceMapper(kube)
    rows = []
    problems = []
    tells = _foreign_tells(target, environment)
    keys: set[str] = set()
    for cm in configmaps:
        name = cm["metadata"]["name"]
        data = cm.get("data") or {}
        keys.update(data)
        try:
            applied, _ = apply_object(kube, cm, namespace, dry_run=True, mapper=mapper)
            result = applied.row()["result"]
        except ProbeError as e:
            result = f"refused: {e}"
            problems.append(f"ConfigMap {name} refused by the API server: {e}")
        rows.append({"configmap": name, "keys": len(data), "dry run": result})
        for foreign in config_scan.foreign_values(name, data, tells):
            problems.append(
                f"ConfigMap {name} key {foreign.key} holds a value of {foreign.belongs_to} "
                f"({foreign.marker})"
            )
    evidence.table("configmaps", rows)
    missing = [k for k in env_policy.required_config_keys if k not in keys]
    evidence.note("required keys", ", ".join(env_policy.required_config_keys) or "none")
    if missing:
        problems.append(f"required keys missing: {', '.join(missing)}")
    assert not problems, "; ".join(problems)


@pytest.mark.item("Secret management")
@pytest.mark.kube_access("list secrets,deployments,configmaps")
def test_secret_management(
    target: Target, namespace: str, cluster: ClusterSnapshot, evidence: Evidence
) -> None:
    """Every Secret the workloads need exists; no plaintext secret in the
    manifests or the namespace's ConfigMaps. Only names reach the evidence."""
    existing = cluster.names("secrets")
    missing = []
    rows = []
    for deployment in cluster.objects("deployments"):
        pod = deployment["spec"]["template"]["spec"]
        needed = sorted(required_secrets(pod))
        absent = [n for n in needed if n not in existing]
        rows.append(
            {
                "deployment": deployment["metadata"]["name"],
                "secrets": ", ".join(needed),
                "missing": ", ".join(absent),
            }
        )
        missing += [f"{n} (used by deployment/{deployment['metadata']['name']})" for n in absent]
    evidence.table("secrets referenced by workloads", rows)
    findings = config_scan.scan_objects(
        f"namespace {namespace}", cluster.objects("configmaps"), "ConfigMap"
    )
    findings += config_scan.scan_objects(
        f"namespace {namespace}", cluster.objects("deployments"), "Deployment"
    )
    if target.manifests_dir is not None and target.manifests_dir.is_dir():
        for path in sorted(target.manifests_dir.glob("*.y*ml")):
            findings += config_scan.scan_objects(path.name, load_documents([path]))
    evidence.table("plaintext secret findings", [f.row() for f in findings])
    assert not missing, (
        f"Secrets missing in {namespace}: {', '.join(missing)}; create them "
        f"(kubectl apply -f {target.secrets_dir or '<secrets dir>'} -n {namespace})"
    )
    assert not findings, (
        "plaintext secrets found: "
        + "; ".join(f"{f.where} key {f.key} ({f.reason})" for f in findings[:5])
        + "; move them into Secrets"
    )
