"""Staging Testing Checklist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gonogo.checks import (
    BINDING_KEY,
    ERROR_RATE,
    STAGING_COMMAND,
    ClusterSnapshot,
    Environment,
    Evidence,
    KubeClient,
    RecordStore,
    RunningRelease,
    SecretResolver,
    SignOff,
    Target,
    access,
    external,
    loadresult,
    probe,
    run_workflow,
)
from gonogo.checks import smoke_load as httpload

from suites.predeploy.support import token

pytestmark = pytest.mark.env("staging")
STAGE = "Staging Deployment Checklist"


@pytest.mark.item("Functional testing", stage=STAGE)
def test_functional_testing(
    target: Target, environment: str, namespace: str, secrets: SecretResolver, evidence: Evidence
) -> None:
    """Every workflow of the target for this environment runs end to end."""
    workflows = target.workflows_for(environment)
    assert workflows, f"the target has no workflows for {environment}; describe the core features"
    variables = {
        "release": target.release,
        "previous_release": target.previous_release,
        "environment": environment,
        "namespace": namespace,
    }
    base = target.base_url_for(environment)
    failures = []
    for workflow in workflows:
        outcome = run_workflow(workflow, base, variables=variables, secrets=secrets)
        evidence.table(f"workflow: {workflow.name}", [s.row() for s in outcome.steps])
        bad = next((s for s in outcome.steps if not s.ok), None)
        if bad is not None:
            failures.append(f"{workflow.name} › {bad.step}: {bad.problem}")
    assert not failures, "workflows failed: " + "; ".join(failures)


@pytest.mark.item("Integration testing", stage=STAGE)
def test_integration_testing(
    target: Target, environment: str, secrets: SecretResolver, evidence: Evidence
) -> None:
    """Each external API answers its documented authenticated endpoint as documented."""
    apis = [a for a in target.external_apis if not target.is_absent(a.name, environment)]
    if not apis:
        pytest.skip("not applicable: the target names no external API")
    requests = [
        external.requests_for(a, environment, token(secrets, a.token, a.name))[1] for a in apis
    ]
    results = probe(requests)
    rows, problems = [], []
    for api, result in zip(apis, results, strict=True):
        _, field = external.endpoint(api)
        has_field = field is None or (isinstance(result.json, dict) and field in result.json)
        rows.append(
            {
                "api": api.name,
                "url": result.url,
                "status": result.status,
                "documented field": field,
                "present": has_field,
            }
        )
        if not result.ok:
            problems.append(result.summary())
        elif not has_field:
            problems.append(f"{api.name}: answer lacks the documented field {field!r}")
    evidence.table("integrations", rows)
    assert not problems, "integrations not working: " + "; ".join(problems)


@pytest.mark.item("Performance testing", stage=STAGE)
@pytest.mark.kube_access("list deployments")
def test_performance_testing(
    target: Target,
    environment: str,
    env_policy: Environment,
    evidence: Evidence,
    load_results_dir: Path,
    running_release: Callable[[], RunningRelease],
) -> None:
    """The smoke load profile stays within the staging thresholds, measured on
    the release under check; the result is kept under the release that ran.
    The production gate's "Performance testing" reads this item's outcome and
    figures from the run record."""
    name = "smoke"
    profile = env_policy.load_profiles.get(name)
    assert profile is not None, f"{environment} has no '{name}' load profile in the target"
    running = running_release()
    evidence.note("running", f"{running.describe() or 'nothing'} ({running.source})")
    assert running.problem() is None, running.problem()
    measured = str(running.release)
    result = httpload.run(
        target.base_url_for(environment),
        release=measured,
        environment=environment,
        profile_name=name,
        users=profile.users,
        spawn_rate=profile.spawn_rate,
        duration_s=profile.duration_s,
        paths=profile.paths,
    )
    path = loadresult.write(load_results_dir, result)
    evidence.note("result", f"{result.summary()} ({path})")
    evidence.data("history", result.history)
    limits = profile.thresholds
    breaches = []
    for label, value, limit, unit, higher_is_worse in (
        (ERROR_RATE, result.error_rate, limits.error_rate_max, "", True),
        ("mean_ms", result.mean_ms, limits.mean_ms_max, "ms", True),
        ("p95_ms", result.p95_ms, limits.p95_ms_max, "ms", True),
        ("rps", result.rps, limits.rps_min, "req/s", False),
    ):
        if limit is None:
            continue
        ok = value <= limit if higher_is_worse else value >= limit
        evidence.measure(label, value, limit=limit, unit=unit, ok=ok)
        if not ok:
            breaches.append(f"{label} {value:.4g}{unit} vs limit {limit:g}{unit}")
    assert result.requests > 0, "the smoke load made no requests"
    after = running_release()
    assert after.versions == running.versions, (
        f"the running versions changed during the load (before: {running.describe()}; after: "
        f"{after.describe() or after.problem()}); run it again once the rollout has settled"
    )
    assert measured == target.release, (
        f"{environment} runs {measured}, not {target.release}, the release under check; the "
        f"result was kept as {measured}'s ({path}); deploy {target.release} to {environment} "
        "first (pytest -m staging --execute)"
    )
    assert not breaches, (
        f"smoke load on {environment} over {result.requests} requests: " + "; ".join(breaches)
    )


@pytest.mark.item("Security testing", stage=STAGE)
@pytest.mark.kube_access("list secrets,deployments", "create subjectaccessreviews")
def test_security_testing(
    target: Target,
    environment: str,
    namespace: str,
    kube: KubeClient,
    cluster: ClusterSnapshot,
    secrets: SecretResolver,
    evidence: Evidence,
) -> None:
    """Authenticated endpoints refuse anonymous calls (and accept the credential);
    no workload ServiceAccount may read Secrets it does not use."""
    problems = []
    apis = [
        a
        for a in target.external_apis
        if a.token is not None and a.name not in target.environment(environment).absent
    ]
    pairs = [external.requests_for(a, environment, token(secrets, a.token, a.name)) for a in apis]
    results = probe([request for pair in pairs for request in pair])
    rows = []
    for api, anonymous, authed in zip(apis, results[::2], results[1::2], strict=True):
        rows.append(
            {
                "api": api.name,
                "url": anonymous.url,
                "anonymous": anonymous.status,
                "with credential": authed.status,
            }
        )
        if anonymous.status not in (401, 403):
            problems.append(
                f"{api.name}: anonymous call to {anonymous.url} answered "
                f"{anonymous.status or anonymous.error}, not 401/403"
            )
        if not authed.ok:
            problems.append(f"{api.name}: the credential is refused too ({authed.summary()})")
    evidence.table("authentication", rows)
    secret_names = sorted(cluster.names("secrets"))
    questions: list[tuple[str, str, str, str, str | None]] = []
    accounts: dict[str, set[str]] = {}
    for deployment in cluster.objects("deployments"):
        pod = deployment["spec"]["template"]["spec"]
        account = pod.get("serviceAccountName") or "default"
        accounts.setdefault(account, set()).update(access.referenced_secrets(pod))
    for account, used in sorted(accounts.items()):
        user = access.service_account_user(namespace, account)
        questions.append((user, "list", "secrets", namespace, None))
        questions += [(user, "get", "secrets", namespace, s) for s in secret_names if s not in used]
    assert accounts, f"no workloads in {namespace} to check; deploy staging first"
    answers = access.ask_all(kube, questions)
    allowed = [a for a in answers if a.allowed]
    evidence.note(
        "access reviews",
        f"{len(answers)} SubjectAccessReviews for {len(accounts)} ServiceAccounts "
        f"and {len(secret_names)} Secrets; {len(allowed)} allowed",
    )
    evidence.table("allowed beyond need", [a.row() for a in allowed])
    problems += [
        f"{a.user} may {a.verb} secrets{'/' + a.name if a.name else ''} ({a.reason or 'RBAC'})"
        for a in allowed[:5]
    ]
    assert not problems, "security testing failed: " + "; ".join(problems)


@pytest.mark.manual
@pytest.mark.item("User acceptance testing")
def test_user_acceptance(
    signoff: SignOff | None, env_policy: Environment, evidence: Evidence
) -> None:
    """Business stakeholders signed off on this release in staging."""
    if signoff is None:
        assert not env_policy.approval.required, "user acceptance needs a sign-off here"
        evidence.note("acceptance", "no sign-off required for this environment")
        return
    evidence.note("accepted by", signoff.summary())
    assert signoff.ticket or signoff.link, (
        f"user acceptance by {signoff.who} names no ticket or link to the accepted test results"
    )


@pytest.mark.item("Regression testing")
def test_regression_testing(
    target: Target,
    environment: str,
    run_records: RecordStore,
    session_outcomes: dict[str, str],
    request: pytest.FixtureRequest,
    evidence: Evidence,
) -> None:
    """Checks that passed when the previous release went through this
    environment pass again for this release. The previous release's run is read
    from the record store, so the comparison does not depend on a file an
    earlier run happened to leave in this machine's reports folder."""
    previous = target.previous_release
    command = STAGING_COMMAND.format(target=f"<a copy of {target.source} with release {previous}>")
    assert previous is not None, (
        "no data: the target names no previous_release to compare this release with; "
        "add previous_release to the target file"
    )
    runs = [r for r in run_records.find(target.name, previous, environment, "staging") if r.items]
    assert runs, (
        f"no data: no {environment} run record of the previous release {previous} in "
        f"{run_records.where}; stage {previous} once ({command}) so {target.release} can be "
        "compared with it"
    )
    baseline = runs[0]
    before = {_key(i.title, i.service): i.outcome for i in baseline.items}
    now = {
        _key(b.item.title, b.service): session_outcomes[i.nodeid]
        for i in request.session.items
        if i is not request.node
        and i.nodeid in session_outcomes
        and (b := i.stash.get(BINDING_KEY, None)) is not None
    }
    passed_before = sorted(k for k, o in before.items() if o == "passed")
    rerun = [k for k in passed_before if k in now]
    regressed = [k for k in rerun if now[k] != "passed"]
    not_rerun = [k for k in passed_before if k not in now]
    evidence.note(
        "baseline",
        f"{environment} run of {previous} at {baseline.started} ({run_records.where}): "
        f"{len(passed_before)} of {len(before)} checks passed",
    )
    evidence.table("compared", [{"check": k, "before": "passed", "now": now[k]} for k in rerun])
    evidence.table("not run this time", [{"check": k} for k in not_rerun])
    assert not regressed, (
        f"{len(regressed)} checks that passed for {previous} in {environment} do not pass for "
        f"{target.release}: " + ", ".join(f"{k} ({now[k]})" for k in regressed[:5])
    )
    assert rerun, (
        f"no data: none of the {len(passed_before)} checks that passed for {previous} ran "
        "before this one; run the same selection as that run"
    )


def _key(title: str, service: str | None) -> str:
    return f"{title} [{service}]" if service else title
