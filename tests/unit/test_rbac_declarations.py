"""Least privilege without a cluster: declarations parse strictly, the plan is
exactly what the selected checks declare, the manifests never hold a wildcard,
and the suites declare every Kubernetes access they make."""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from gonogo.cli import build_parser, repo_root
from gonogo.cli import rbac as command
from gonogo.engine.rbac import preflight
from gonogo.engine.rbac.access import RESOURCES, Need, parse
from gonogo.engine.rbac.manifest import render
from gonogo.engine.rbac.plan import AccessPlan
from gonogo.engine.rbac.plugin import PLAN_ENV
from gonogo.errors import ConfigError

from tests.support.local_http import serving, url_of

# -- declarations ---------------------------------------------------------------


def test_a_sentence_names_rbac_verbs_and_resources_in_the_environments_namespace() -> None:
    needs = parse("get,patch deployments,configmaps").needs("sophia")
    assert needs == {
        Need("sophia", "apps", "deployments", "get"),
        Need("sophia", "apps", "deployments", "patch"),
        Need("sophia", "", "configmaps", "get"),
        Need("sophia", "", "configmaps", "patch"),
    }


def test_cluster_scoped_and_all_namespace_needs_have_no_namespace() -> None:
    assert parse("list nodes").needs("sophia") == {Need(None, "", "nodes", "list")}
    assert parse("list pods in all namespaces").needs("sophia") == {Need(None, "", "pods", "list")}
    assert parse("list pods.metrics.k8s.io").needs("x") == {
        Need("x", "metrics.k8s.io", "pods", "list")
    }


@pytest.mark.parametrize(
    ("sentence", "says"),
    [
        ("* deployments", "* is not an RBAC verb"),
        ("get *", "unknown resource '*'"),
        ("get,frobnicate pods", ": frobnicate is not an RBAC verb"),
        ("get deploymentz", "unknown resource 'deploymentz'"),
        ("get", "not one verb list and one resource list"),
        ("list nodes in all namespaces", "nodes is cluster-scoped"),
        (["get pods"], "takes sentences (strings)"),
    ],
)
def test_a_bad_sentence_is_refused_naming_the_form(sentence: object, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(sentence)
    text = str(raised.value).replace('"', "'")
    assert says in text
    assert any(fix in text for fix in ("e.g. 'get,list deployments'", "known:", "drop 'in all"))


# -- manifests ------------------------------------------------------------------


def _plan(*declared: tuple[str, list[str]], records: str | None = "gonogo-records") -> AccessPlan:
    plan = AccessPlan("sophia")
    for check, sentences in declared:
        for sentence in sentences:
            plan.add(parse(sentence).needs("sophia"), check)
    if records:
        plan.add([Need(records, "", "configmaps", v) for v in ("list", "create")], "run record")
    return plan


CHECKS = (
    ("Kubernetes cluster healthy", ["list nodes", "list pods in all namespaces"]),
    ("Secret management", ["list secrets,deployments,configmaps"]),
    ("Configuration validation", ["get,patch configmaps"]),
)


def _docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_manifests_hold_the_account_roles_and_bindings_and_no_wildcard() -> None:
    text = render(_plan(*CHECKS), "gonogo")
    assert "*" not in text
    assert "kind: Namespace" not in text  # kubectl delete -f must never delete a namespace
    docs = _docs(text)
    kinds = [(d["kind"], d["metadata"].get("namespace")) for d in docs]
    assert kinds == [
        ("ServiceAccount", "sophia"),
        ("Role", "sophia"),
        ("RoleBinding", "sophia"),
        ("Role", "gonogo-records"),
        ("RoleBinding", "gonogo-records"),
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
    ]
    role = docs[1]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
    ]
    assert docs[3]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "create"]}
    ]
    assert docs[5]["rules"] == [
        {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list"]}
    ]
    for binding in (docs[2], docs[4], docs[6]):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "gonogo", "namespace": "sophia"}
        ]
    assert "# get,list,patch configmaps (core): Configuration validation; Secret management" in text


def test_removing_a_declaration_removes_its_rule() -> None:
    full = _docs(render(_plan(*CHECKS), "gonogo"))
    without = _docs(
        render(_plan(*[c for c in CHECKS if c[0] != "Configuration validation"]), "gonogo")
    )
    assert full[1]["rules"][0]["verbs"] == ["get", "list", "patch"]
    assert without[1]["rules"][0] == {
        "apiGroups": [""],
        "resources": ["configmaps", "secrets"],
        "verbs": ["list"],
    }
    only_nodes = _docs(render(_plan(CHECKS[0], records=None), "gonogo"))
    assert [d["kind"] for d in only_nodes] == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
    ]


def test_restorable_is_expanded_to_the_clusters_kinds_never_granted_as_a_word() -> None:
    plan = _plan(("Backup verification", ["get,patch restorable"]), records=None)
    assert plan.needs_discovery
    expanded = plan.expanded([("", "configmaps"), ("apps", "deployments")])
    assert not expanded.needs_discovery
    text = render(expanded, "gonogo")
    assert "restorable" not in text.split("# Made by")[0].replace("# ", "")
    rules = _docs(text)[1]["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
    ]


def test_every_resource_in_the_table_is_named_without_a_wildcard() -> None:
    for name, resource in RESOURCES.items():
        assert "*" not in name and "*" not in resource.group


def test_the_table_agrees_with_the_kube_probe_on_shared_kinds() -> None:
    from gonogo.integrations.kubernetes.client import KINDS

    for kind, (prefix, plural, namespaced) in KINDS.items():
        group = "" if prefix == "/api/v1" else prefix.split("/")[2]
        found = RESOURCES.get(plural if not group else f"{plural}.{group}")
        assert found is not None, kind
        assert (found.group, found.namespaced) == (group, namespaced), kind


# -- the refusal ----------------------------------------------------------------


def test_the_refusal_is_one_line_naming_verb_resource_namespace_and_the_command() -> None:
    plan = _plan(("Phase 4: deploy", ["patch deployments"]), ("Immediate Response", ["list nodes"]))
    missing = [Need("sophia", "apps", "deployments", "patch"), Need(None, "", "nodes", "list")]
    denied = preflight.Denied(missing, "system:serviceaccount:sophia:gonogo", plan)
    command_line = preflight.grant_command(
        ["targets/sandbox.yaml"], "production", "deploy", "gonogo", "plan"
    )
    line = denied.line(command_line)
    assert "\n" not in line
    assert "may not patch deployments.apps in namespace sophia" in line
    assert "(and 1 more: list nodes (cluster-wide))" in line
    assert "Phase 4: deploy" in line
    assert (
        "gonogo rbac --target targets/sandbox.yaml --env production -m deploy | kubectl apply -f -"
        in line
    )


def test_the_grant_command_names_a_non_default_account_and_rollback() -> None:
    assert preflight.service_account_of("system:serviceaccount:sophia:ci", "sophia") == "ci"
    assert preflight.service_account_of("system:serviceaccount:other:ci", "sophia") is None
    assert preflight.grant_command(["t.yaml"], "staging", "predeploy or deploy", "ci", "auto") == (
        "gonogo rbac --target t.yaml --env staging -m 'predeploy or deploy' "
        "--service-account ci --rollback auto"
    )


# -- collection -----------------------------------------------------------------

CHECK = """\
import pytest

@pytest.fixture
def cluster():
    return None

@pytest.mark.item("Cluster healthy")
{declaration}
def test_cluster(target, cluster):
    pass

@pytest.mark.item("Backup verification")
def test_no_kubernetes(target):
    pass
"""


def _collect(
    project: pytest.Pytester, declaration: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict]:
    project.makepyfile(test_checks=CHECK.format(declaration=declaration))
    out = project.path / "plan.json"
    monkeypatch.setenv(PLAN_ENV, str(out))
    result = project.runpytest(
        "-p",
        "gonogo.engine.rbac.plugin",
        "--collect-only",
        "-q",
        "--target",
        "target.yaml",
        "--env",
        "production",
    )
    plans = json.loads(out.read_text()) if out.is_file() else {}
    return result, plans


def test_a_check_reaching_kubernetes_without_a_declaration_is_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, plans = _collect(project, "", monkeypatch)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_checks.py::test_cluster* uses the Kubernetes API (fixture 'cluster') but "
            "declares no access; add @pytest.mark.kube_access(*"
        ]
    )
    assert plans == {}


def test_the_plan_is_what_the_selected_checks_declare(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, plans = _collect(
        project, '@pytest.mark.kube_access("list nodes", "get deployments")', monkeypatch
    )
    assert result.ret == 0
    plan = AccessPlan.from_json(plans["shop"])
    assert plan.needs == [
        Need("shop", "apps", "deployments", "get"),
        Need(None, "", "nodes", "list"),
    ]
    assert plan.reasons[Need(None, "", "nodes", "list")] == ["Cluster healthy"]


def test_a_bad_declaration_names_the_check(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = _collect(project, '@pytest.mark.kube_access("list *")', monkeypatch)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_checks.py::test_cluster*unknown resource '*'*"])


@pytest.mark.parametrize("env", ["production", "staging"])
def test_every_suite_check_that_reaches_kubernetes_declares_it(env: str, tmp_path: Path) -> None:
    """The suites themselves: collecting every stage refuses an undeclared check."""
    args = argparse.Namespace(
        target=str(repo_root() / "targets/sandbox.yaml"),
        env=env,
        markexpr="predeploy or deploy or postdeploy or staging or rollback or emergency",
        service_account="gonogo",
        rollback="auto",
    )
    code, output, plans = command.collect(args, repo_root())
    assert code == 0, output
    needs = plans["sophia-sandbox"].needs
    assert Need(None, "", "nodes", "list") in needs
    assert all("*" not in (n.plural + n.group + n.verb) for n in needs)


def test_the_rbac_command_explains_itself() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["rbac"].format_help()
    for words in ("kube_access", "dry run", "kubectl create token", "exit 4", "--service-account"):
        assert words in text


# -- the preflight against a loopback API server ---------------------------------

DENIED = {("apps", "deployments", "patch")}


class _Authorizer(BaseHTTPRequestHandler):
    """Answers SelfSubjectAccessReviews: everything but DENIED is allowed."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/selfsubjectaccessreviews"):
            a = body["spec"]["resourceAttributes"]
            allowed = (a.get("group", ""), a["resource"], a["verb"]) not in DENIED
            answer = {**body, "status": {"allowed": allowed}}
        else:
            answer = {**body, "status": {"userInfo": {"username": "system:serviceaccount:shop:ci"}}}
        data = json.dumps(answer).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


PREFLIGHT_CHECK = """\
import pathlib
import pytest

@pytest.mark.item("Deploy services")
@pytest.mark.mutating
@pytest.mark.kube_access({declaration!r})
def test_deploy(target):
    pathlib.Path("ran").write_text("the check ran")
"""


def _preflight_project(project: pytest.Pytester, server: str, declaration: str) -> None:
    kubeconfig = project.path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    target = project.path / "target.yaml"
    text = target.read_text().rstrip("\n")
    target.write_text(f"{text}\nkube: {{kubeconfig: '{kubeconfig}', context: ctx}}\n")
    project.makepyfile(test_checks=PREFLIGHT_CHECK.format(declaration=declaration))


def _run(project: pytest.Pytester) -> pytest.RunResult:
    return project.runpytest_subprocess(
        "-p",
        "gonogo.engine.rbac.plugin",
        "--target",
        "target.yaml",
        "--env",
        "production",
        "-m",
        "deploy",
        "--execute",
    )


def test_a_run_whose_account_lacks_a_declared_permission_is_refused_before_any_check(
    project: pytest.Pytester,
) -> None:
    with serving(_Authorizer) as server:
        _preflight_project(project, url_of(server), "get,patch deployments")
        result = _run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if "refused before any check ran" in line]
    assert len(lines) == 1, result.stderr.str()
    assert (
        "the account system:serviceaccount:shop:ci may not patch deployments.apps in namespace "
        "shop, which Deploy services needs; grant it with: gonogo rbac --target target.yaml "
        "--env production -m deploy --service-account ci | kubectl apply -f -"
    ) in lines[0]
    assert not (project.path / "ran").exists()


def test_a_run_whose_account_has_every_permission_runs(project: pytest.Pytester) -> None:
    with serving(_Authorizer) as server:
        _preflight_project(project, url_of(server), "get,list deployments")
        result = _run(project)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert (project.path / "ran").exists()


def test_an_api_server_that_cannot_be_asked_leaves_the_decision_to_the_checks(
    project: pytest.Pytester,
) -> None:
    with serving(_Authorizer) as server:
        closed = url_of(server)
    _preflight_project(project, closed, "get,patch deployments")
    result = _run(project)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert (project.path / "ran").exists()


def test_under_xdist_every_check_fails_with_the_refusal_before_its_fixtures(
    project: pytest.Pytester,
) -> None:
    with serving(_Authorizer) as server:
        _preflight_project(project, url_of(server), "get,patch deployments")
        result = project.runpytest_subprocess(
            "-p",
            "gonogo.engine.rbac.plugin",
            "--target",
            "target.yaml",
            "--env",
            "production",
            "-m",
            "deploy",
            "--execute",
            "-n",
            "1",
        )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        ["*refused before any check ran: * may not patch deployments.apps*"]
    )
    assert "INTERNALERROR" not in result.stdout.str()
    assert not (project.path / "ran").exists()
