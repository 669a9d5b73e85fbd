"""Ready-made checks: written once in gonogo.checks, bound by any team to its
own checklist title in one line, and suggested for an item only when they
clearly fit. The Sophia suites are the first team to bind them; their gate
collects the same checks, under the same items and declarations, as when the
checks were written in the suites."""

from __future__ import annotations

import ast
import inspect
import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import gonogo.checks
import pytest
from gonogo.checks import (
    ReadyCheck,
    bind,
    check,
    cluster_healthy,
    ready_checks,
    suggest_ready_check,
)
from gonogo.checks import ready as ready_module
from gonogo.engine.rbac.access import parse as parse_access

from tests.support.local_http import serving, url_of
from tests.support.mini_project import MINI_TARGET
from tests.support.suite_runner import REPO, environment, run_pytest

PACKAGE = REPO / "plugins" / "gonogo"
DOC = REPO / "docs" / "writing-checks.md"
REACHES_KUBERNETES = {"kube", "cluster", "patcher", "running_release"}


def _plugin_fixtures() -> set[str]:
    """Every fixture the installed plugin defines (what a ready check may take)."""
    names = set()
    for path in sorted((PACKAGE / "fixtures").rglob("*.py")) + sorted(
        (PACKAGE / "engine").rglob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.unparse(d) for d in node.decorator_list
            ):
                names.add(node.name)
    return names


# -- the registry ------------------------------------------------------------------


def test_the_library_holds_the_infrastructure_and_rollback_checks() -> None:
    names = [r.name for r in ready_checks()]
    assert names == [r.name for r in ready_checks()], "the order is stable"
    assert {
        "cluster_healthy",
        "storage_available",
        "dependencies_reachable",
        "dns_and_tls_valid",
        "monitoring_operational",
        "logs_aggregated",
        "rollouts_paused",
        "rolled_back_to_previous",
        "rollback_verified",
        "rolled_back_in_reverse_order",
        "configuration_restored",
        "system_stable",
    } <= set(names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("ready", ready_checks(), ids=lambda r: r.name)
def test_each_ready_check_is_exported_under_its_name_and_declared_fully(
    ready: ReadyCheck,
) -> None:
    assert getattr(gonogo.checks, ready.name) is ready
    assert ready.name in gonogo.checks.__all__
    assert ready.purpose.endswith(".") and ready.purpose.count(". ") == 0, ready.purpose
    assert ready.doc, "a bound test shows this docstring as what it proves"
    assert ready.keywords and all(isinstance(k, str) for k in ready.keywords)
    assert isinstance(ready.needs_target, bool)


@pytest.mark.parametrize("ready", ready_checks(), ids=lambda r: r.name)
def test_each_ready_check_takes_only_the_plugins_fixtures(ready: ReadyCheck) -> None:
    """A team binding it has no conftest of gonogo's: every fixture must come
    from the installed plugin."""
    assert set(ready.fixtures) <= _plugin_fixtures(), ready.fixtures


@pytest.mark.parametrize("ready", ready_checks(), ids=lambda r: r.name)
def test_a_ready_check_reaching_kubernetes_declares_what_it_does_there(
    ready: ReadyCheck,
) -> None:
    if set(ready.fixtures) & REACHES_KUBERNETES:
        assert ready.kube_access, f"{ready.name} reaches the API and declares no kube_access"
    for sentence in ready.kube_access:
        parse_access(sentence)


def test_needs_target_follows_the_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ready_module, "_REGISTRY", [])

    @ready_module.ready_check(purpose="Notes something.", keywords=("note",))
    def noted(evidence: object, dry_run: bool) -> None:
        """Notes something."""

    assert noted.needs_target is False
    assert cluster_healthy.needs_target is True
    assert ready_checks() == [noted]


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("def f(evidence):\n    pass\n", "needs a docstring"),
        ('def f(evidence, limit=3):\n    """D."""\n', "keyword-only parameter with a default"),
        ('def f(evidence, *, limit):\n    """D."""\n', "keyword-only parameter with a default"),
        ('def f(evidence, *, phase=1):\n    """D."""\n', "clash with check"),
    ],
)
def test_a_misleading_declaration_is_refused(
    monkeypatch: pytest.MonkeyPatch, source: str, says: str
) -> None:
    monkeypatch.setattr(ready_module, "_REGISTRY", [])
    scope: dict[str, object] = {}
    exec(source, scope)
    with pytest.raises(TypeError, match=says):
        ready_module.ready_check(purpose="P.", keywords=("p",))(scope["f"])  # type: ignore[arg-type]


def test_keywords_are_single_lowercase_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ready_module, "_REGISTRY", [])

    def f(evidence: object) -> None:
        """D."""

    with pytest.raises(TypeError, match="lowercase single words"):
        ready_module.ready_check(purpose="P.", keywords=("error rate",))(f)


# -- the binder ----------------------------------------------------------------------


def test_check_returns_a_test_of_the_checks_fixtures_bound_to_the_title() -> None:
    test = check("Our cluster is fine", cluster_healthy)
    assert test.__name__ == "test_cluster_healthy"
    assert test.__doc__ == cluster_healthy.function.__doc__
    assert list(inspect.signature(test).parameters) == ["env_policy", "cluster", "evidence"]
    marks = {m.name: m for m in test.pytestmark}  # type: ignore[attr-defined]
    assert marks["item"].args == ("Our cluster is fine",) and marks["item"].kwargs == {}
    assert marks["kube_access"].args == ("list nodes", "list pods in all namespaces")


def test_stage_and_phase_travel_with_the_item_marker() -> None:
    test = check("Performance testing", cluster_healthy, phase="Staging Testing")
    mark = next(m for m in test.pytestmark if m.name == "item")  # type: ignore[attr-defined]
    assert mark.kwargs == {"phase": "Staging Testing"}


def test_an_unknown_parameter_is_a_type_error_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"cluster_healthy takes no parameter 'headroom'.*"):
        check("Our cluster is fine", cluster_healthy, headroom=False)
    with pytest.raises(TypeError, match="its parameters are: check_headroom"):
        check("Our cluster is fine", cluster_healthy, headroom=False)


def test_only_a_ready_check_can_be_bound() -> None:
    with pytest.raises(TypeError, match="ready_checks"):
        check("Our cluster is fine", cluster_healthy.function)  # type: ignore[arg-type]


def test_the_decorator_form_keeps_the_teams_name_and_docstring() -> None:
    @bind("Our cluster is fine", cluster_healthy, check_headroom=False)
    def test_our_cluster() -> None:
        """Our nodes are Ready."""

    assert test_our_cluster.__name__ == "test_our_cluster"
    assert test_our_cluster.__doc__ == "Our nodes are Ready."
    assert list(inspect.signature(test_our_cluster).parameters) == [
        "env_policy",
        "cluster",
        "evidence",
    ]


TEAM_CHECKLIST = """\
# Ledger release checklist

## Pre-Deployment Checklist
### Readiness
- [ ] **Our cluster is fine** - nodes ready
- [ ] **Volumes are bound**
- [ ] **Nodes are up**
- [ ] **Cluster room** - room for the release
- [ ] **Performance testing** - load results

## Staging Deployment Checklist
### Staging Testing
- [ ] **Performance testing** - load within limits

## Rollback Checklist
### Immediate Rollback
- [ ] **Undo the release**
"""

FAKE_CLUSTER = """\
import pytest

class Node:
    def __init__(self, name, ready):
        self.name, self.ready, self.pressure = name, ready, []
        self.unschedulable, self.allocatable = False, {"cpu": "4", "memory": "8Gi"}

class Cluster:
    def __init__(self, *nodes):
        self._nodes = list(nodes)
    def nodes(self):
        return self._nodes
    def schedulable_nodes(self):
        raise AssertionError("the headroom was checked")

@pytest.fixture
def env_policy():
    return None

@pytest.fixture
def cluster(request):
    ready = "not_ready" not in request.node.name
    return Cluster(Node("n1", True), Node("n2", ready))
"""


@pytest.fixture
def team(project: pytest.Pytester) -> pytest.Pytester:
    """The small project with a team's own checklist titles."""
    project.makefile(".md", checklist=TEAM_CHECKLIST)
    return project


def test_a_bound_check_is_collected_under_the_teams_item_with_its_marks(
    team: pytest.Pytester,
) -> None:
    team.makepyfile(
        test_team="""\
        from gonogo.checks import check, cluster_healthy, rolled_back_to_previous
        test_cluster = check("Our cluster is fine", cluster_healthy)
        test_staging_room = check("Performance testing", cluster_healthy, stage="staging")
        test_undo = check("Undo the release", rolled_back_to_previous)
        """
    )
    items, _ = team.inline_genitems("--target", "target.yaml", "--env", "production")
    by_name = {i.name: i for i in items}
    cluster = by_name["test_cluster[shop]"]
    assert cluster.get_closest_marker("predeploy") is not None
    assert cluster.get_closest_marker("item").args == ("Our cluster is fine",)  # type: ignore[union-attr]
    access = cluster.get_closest_marker("kube_access")
    assert access is not None and access.args == cluster_healthy.kube_access
    assert {"env_policy", "cluster", "evidence", "target"} <= set(cluster.fixturenames)  # type: ignore[attr-defined]
    assert by_name["test_staging_room[shop]"].get_closest_marker("staging") is not None
    undo = by_name["test_undo[shop]"]
    assert undo.get_closest_marker("rollback") is not None
    assert undo.get_closest_marker("mutating") is not None


def test_a_bound_check_runs_with_its_parameters_and_fails_with_its_message(
    team: pytest.Pytester,
) -> None:
    team.makeconftest(FAKE_CLUSTER)
    team.makepyfile(
        test_team="""\
        from gonogo.checks import check, cluster_healthy
        test_nodes = check("Our cluster is fine", cluster_healthy, check_headroom=False)
        test_room = check("Cluster room", cluster_healthy)
        test_not_ready = check("Performance testing", cluster_healthy, stage="predeploy",
                               check_headroom=False)
        """
    )
    result = team.runpytest("-v", "-rA", "--no-gate")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_team.py::test_nodes PASSED*",
            "FAILED test_team.py::test_room - AssertionError: the headroom was checked",
            "FAILED test_team.py::test_not_ready - AssertionError: "
            "1 of 2 nodes not Ready: n2; kubectl describe node n2",
        ]
    )


class _Answers(BaseHTTPRequestHandler):
    """An external API whose /health answers 503 and whose /ok answers 200."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_bound_http_check_probes_what_the_teams_target_names(team: pytest.Pytester) -> None:
    """No cluster, no conftest: the target's external APIs, probed for real on loopback."""
    with serving(_Answers) as server:
        url = url_of(server)
        team.makefile(
            ".yaml",
            target=MINI_TARGET
            + "external_apis:\n"
            + f"  - {{name: payments, url: '{url}', health_path: /health, timeout_s: 2}}\n"
            + f"  - {{name: fx, url: '{url}', health_path: /ok, timeout_s: 2}}\n",
        )
        team.makepyfile(
            test_team="""\
            from gonogo.checks import check, dependencies_reachable
            test_apis = check("Our cluster is fine", dependencies_reachable, timeout_s=1.0)
            """
        )
        result = team.runpytest("-rA", "--no-gate", "--target", "target.yaml", "--env", "staging")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*dependencies not answering: external API payments*503*"])
    assert "external API fx" not in result.stdout.str().split("dependencies not answering")[-1]


# -- suggestions ---------------------------------------------------------------------

SOPHIA = [
    ("Kubernetes cluster healthy", "All nodes ready and resources available", "cluster_healthy"),
    ("Our cluster is healthy", "", "cluster_healthy"),
    (
        "Storage availability",
        "Persistent volumes and storage capacity confirmed",
        "storage_available",
    ),
    (
        "Network connectivity",
        "External dependencies and APIs accessible",
        "dependencies_reachable",
    ),
    ("DNS configuration", "Domain records and SSL certificates valid", "dns_and_tls_valid"),
    (
        "Monitoring systems",
        "Prometheus, Grafana, and alerting operational",
        "monitoring_operational",
    ),
    ("Log aggregation", "Loki and logging pipeline functional", "logs_aggregated"),
    ("Stop current deployment", "", "rollouts_paused"),
    ("Rollback to previous version", "", "rolled_back_to_previous"),
    ("Verify rollback success", "", "rollback_verified"),
    (
        "Rollback all services in reverse dependency order",
        "",
        "rolled_back_in_reverse_order",
    ),
    ("Restore previous configuration", "", "configuration_restored"),
    ("Verify system stability", "", "system_stable"),
]

NOTHING_FITS = [
    ("Team availability", "Ensure key personnel are available during deployment"),
    ("Change approval", "Obtain necessary approvals for production changes"),
    ("Release notes prepared", "Document all changes, features, and fixes"),
    ("Rollback plan prepared", "Define rollback procedures and criteria"),
    ("Backup verification", "Confirm recent backups are available and tested"),
    ("Database connectivity", "All services can connect to Redis"),
    ("System health check", "All services running and healthy"),
    ("Configuration validation", "Environment-specific configs reviewed"),
    ("Resource utilization review", "Check current system load"),
    ("Backup current state", "Create deployment-specific backup"),
    ("Network policies updated", ""),
    ("Deploy monitoring stack", ""),
    ("CI/CD pipeline passing", "All automated tests successful"),
    ("User acceptance testing", "Business stakeholder sign-off"),
]


@pytest.mark.parametrize(("title", "description", "name"), SOPHIA)
def test_an_item_gets_the_check_that_fits_it(title: str, description: str, name: str) -> None:
    found = suggest_ready_check(title, description)
    assert found is not None and found.name == name, found


@pytest.mark.parametrize(("title", "description"), NOTHING_FITS)
def test_an_item_no_check_fits_gets_none(title: str, description: str) -> None:
    assert suggest_ready_check(title, description) is None


def test_one_shared_word_is_not_enough_and_the_title_decides() -> None:
    assert suggest_ready_check("Cluster") is None
    assert suggest_ready_check("Final step", "the cluster is healthy") is None


def test_a_tie_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ready_module, "_REGISTRY", [])
    for name in ("first", "second"):
        scope: dict[str, object] = {}
        exec(f'def {name}(evidence):\n    """D."""\n', scope)
        ready_module.ready_check(purpose="P.", keywords=("alpha", "beta"))(scope[name])  # type: ignore[arg-type]
    assert suggest_ready_check("Alpha beta") is None


# -- the documentation ---------------------------------------------------------------


def test_the_writing_checks_page_lists_every_ready_check() -> None:
    """The table is generated: regenerate it with
    ``python -c "from gonogo.checks.ready import markdown_table; print(markdown_table())"``."""
    table = ready_module.markdown_table()
    page = DOC.read_text(encoding="utf-8")
    assert table in page, "docs/writing-checks.md's table of ready-made checks is out of date"
    for ready in ready_checks():
        assert f"`{ready.name}`" in table


def test_the_five_line_example_of_the_page_binds_and_collects(team: pytest.Pytester) -> None:
    page = DOC.read_text(encoding="utf-8")
    start = page.index("```python\nfrom gonogo.checks import check, cluster_healthy")
    example = page[start + len("```python\n") : page.index("```", start + 10)]
    assert len(example.strip().splitlines()) <= 5, example
    team.makepyfile(test_team=example)
    result = team.runpytest("--co", "-q", "--target", "target.yaml")
    assert result.ret == 0, result.stdout.str()


# -- the Sophia suites -----------------------------------------------------------------

BOUND = {
    "suites/predeploy/test_infrastructure.py": {
        "test_cluster_healthy": ("Kubernetes cluster healthy", "predeploy", 2),
        "test_storage_availability": ("Storage availability", "predeploy", 1),
        "test_network_connectivity": ("Network connectivity", "predeploy", 0),
        "test_dns_configuration": ("DNS configuration", "predeploy", 0),
        "test_monitoring_systems": ("Monitoring systems", "predeploy", 0),
        "test_log_aggregation": ("Log aggregation", "predeploy", 0),
    },
    "suites/rollback/test_rollback.py": {
        "test_stop_current_deployment": ("Stop current deployment", "rollback", 2),
        "test_rollback_to_previous_version": ("Rollback to previous version", "rollback", 2),
        "test_verify_rollback_success": ("Verify rollback success", "rollback", 1),
        "test_rollback_all_in_reverse_order": (
            "Rollback all services in reverse dependency order",
            "rollback",
            2,
        ),
        "test_restore_previous_configuration": ("Restore previous configuration", "rollback", 2),
        "test_verify_system_stability": ("Verify system stability", "rollback", 1),
    },
}
"""Each check the Sophia suites bind: its item, its stage and how many
kube_access sentences it declared when it was written in the suites."""

DUMP_PLUGIN = """\
import json, os

def pytest_collection_finish(session):
    out = {}
    for item in session.items:
        access = [s for m in item.iter_markers("kube_access") for s in m.args]
        out[item.nodeid] = {
            "item": item.get_closest_marker("item").args[0],
            "marks": sorted({m.name for m in item.iter_markers()}),
            "kube_access": access,
        }
    with open(os.environ["GONOGO_TEST_DUMP"], "w") as f:
        json.dump(out, f)
"""


@pytest.mark.parametrize("stage", ["predeploy", "rollback"])
def test_the_sophia_gate_collects_the_bound_checks_as_before(tmp_path: Path, stage: str) -> None:
    (tmp_path / "gonogo_dump_items.py").write_text(DUMP_PLUGIN, encoding="utf-8")
    dump = tmp_path / "items.json"
    done = run_pytest(
        *("--co", "-q", "-p", "gonogo_dump_items", "-m", stage),
        *("--target", "targets/sandbox.yaml", "--env", "production"),
        "--reports-dir",
        str(tmp_path / "reports"),
        cwd=REPO,
        env=environment(
            {
                "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
                "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
                "GONOGO_TEST_DUMP": str(dump),
            }
        ),
        timeout=120,
    )
    assert done.returncode == 0, done.output[-3000:]
    items = json.loads(dump.read_text(encoding="utf-8"))
    expected = {
        f"{path}::{name}[sophia-sandbox]": bound
        for path, tests in BOUND.items()
        for name, bound in tests.items()
        if bound[1] == stage
    }
    assert len(expected) == 6
    for node_id, (title, stage_key, sentences) in expected.items():
        assert node_id in items, f"{node_id} not collected: {sorted(items)}"
        got = items[node_id]
        assert got["item"] == title
        assert stage_key in got["marks"]
        assert len(got["kube_access"]) == sentences, got
        assert ("mutating" in got["marks"]) == (
            node_id.split("::")[1]
            in {
                "test_stop_current_deployment[sophia-sandbox]",
                "test_rollback_to_previous_version[sophia-sandbox]",
                "test_rollback_all_in_reverse_order[sophia-sandbox]",
                "test_restore_previous_configuration[sophia-sandbox]",
            }
        )
