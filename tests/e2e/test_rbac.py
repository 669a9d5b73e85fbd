"""Least privilege, proven by the sandbox's API server (which authorizes with RBAC).

The account ``gonogo rbac … -m predeploy`` prints is applied with the admin
kubeconfig; a token minted for it (TokenRequest, ``kubectl create token``)
goes into a kubeconfig of its own and a copy of the target. The
pre-deployment gate then gives exactly the same per-check outcomes with that
account as with the admin's, and the same account's ``-m deploy --execute``
is refused before anything changes, in one line naming what is missing and
the command that grants it.

Everything runs against a demo system in a namespace of its own, with run
records in a records namespace of its own, both deleted afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gonogo.integrations.kubernetes import backup_writer
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo_sandbox import cluster
from gonogo_sandbox.config import SandboxConfig

from tests.support.demo_system import DemoSystem, demo_system
from tests.support.gate_inputs import write_signoffs
from tests.support.suite_runner import REPO, Finished, outcomes, run_gonogo, run_suite, sandbox_env

SUITE = str(REPO / "suites" / "predeploy")
PLUGIN = ("-p", "gonogo.engine.rbac.plugin")
ACCOUNT = "gonogo-e2e"


def _kubectl(cfg: SandboxConfig, *args: str, stdin: str | None = None) -> str:
    done = cluster.kubectl(cfg, cluster.bin_dir(), *args, stdin=stdin)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


def _gonogo(*args: str, cwd: Path) -> Finished:
    return run_gonogo(*args, cwd=cwd, env=sandbox_env(), timeout=300)


def _token_kubeconfig(cfg: SandboxConfig, namespace: str, path: Path) -> Path:
    """A kubeconfig for the account: the sandbox's cluster entry and a token
    minted through the TokenRequest API."""
    token = _kubectl(cfg, "-n", namespace, "create", "token", ACCOUNT, "--duration=1h").strip()
    admin = yaml.safe_load(cfg.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == cfg.kube_context)["context"]
    entry = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [entry],
                "users": [{"name": ACCOUNT, "user": {"token": token}}],
                "contexts": [
                    {"name": ACCOUNT, "context": {"cluster": entry["name"], "user": ACCOUNT}}
                ],
                "current-context": ACCOUNT,
            }
        )
    )
    path.chmod(0o600)
    return path


def _deployments(cfg: SandboxConfig, namespace: str) -> dict[str, tuple[int, str]]:
    kube = KubeClient(kubeconfig=cfg.kubeconfig, context=cfg.kube_context)
    try:
        return {
            d["metadata"]["name"]: (
                int(d["metadata"]["generation"]),
                ",".join(c["image"] for c in d["spec"]["template"]["spec"]["containers"]),
            )
            for d in kube.list_all("deployments", namespace)
        }
    finally:
        kube.close()


def _backup(cfg: SandboxConfig, namespace: str, directory: Path) -> None:
    """A backup as the deploy stage's "Backup current state" writes it: every
    restorable kind of the namespace, Roles and RoleBindings included."""
    kube = KubeClient(kubeconfig=cfg.kubeconfig, context=cfg.kube_context)
    try:
        backup_writer.write(backup_writer.collect(kube, namespace), directory, keep_secrets=False)
    finally:
        kube.close()


def _retarget(source: Path, path: Path, changes: dict[str, Any]) -> Path:
    data = yaml.safe_load(source.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def system(
    sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The demo system, its records namespace, the account applied from
    ``gonogo rbac`` and a target copy for each of admin and account."""
    cfg = sandbox_running
    work = tmp_path_factory.mktemp("rbac")
    records = f"e2e-rbac-records-{secrets.token_hex(3)}"
    overrides = {
        "backups_dir": str(work / "backups"),
        "load_results_dir": str(work / "load"),
        "records": {"store": "kubernetes", "namespace": records},
    }
    with demo_system(work, "rbac", overrides=overrides, cfg=cfg) as demo:
        _kubectl(cfg, "create", "namespace", records)
        manifests = ""
        try:
            _backup(cfg, demo.namespace, work / "backups")
            printed = _gonogo(
                "rbac",
                "--target",
                str(demo.target_file),
                "--env",
                "production",
                "-m",
                "predeploy",
                "--service-account",
                ACCOUNT,
                cwd=work,
            )
            assert printed.returncode == 0, printed.stderr
            manifests = printed.stdout
            _kubectl(cfg, "apply", "-f", "-", stdin=manifests)
            kubeconfig = _token_kubeconfig(cfg, demo.namespace, work / "account.kubeconfig")
            account_target = _retarget(
                demo.target_file,
                work / "target-account.yaml",
                {"kube": {"kubeconfig": str(kubeconfig), "context": ACCOUNT}},
            )
            yield {
                "demo": demo,
                "work": work,
                "manifests": manifests,
                "account_target": account_target,
                "records": records,
                "signoffs": write_signoffs(work / "signoffs.yaml"),
            }
        finally:
            if manifests:
                _kubectl(cfg, "delete", "--ignore-not-found", "-f", "-", stdin=manifests)
            _kubectl(cfg, "delete", "namespace", records, "--wait=false", "--ignore-not-found")


def _predeploy(target: Path, signoffs: Path, cwd: Path) -> tuple[int, str]:
    cwd.mkdir(exist_ok=True)
    return run_suite(
        SUITE,
        *PLUGIN,
        "-m",
        "predeploy",
        "--no-gate",
        "--target",
        str(target),
        "--env",
        "production",
        "--signoffs",
        str(signoffs),
        cwd=cwd,
    )


def test_the_manifests_name_no_wildcard_and_bind_the_account(system: dict[str, Any]) -> None:
    text = system["manifests"]
    assert "*" not in text
    docs = [d for d in yaml.safe_load_all(text) if d]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "ServiceAccount",
    ]
    demo: DemoSystem = system["demo"]
    roles = {d["metadata"]["namespace"]: d["rules"] for d in docs if d["kind"] == "Role"}
    assert set(roles) == {demo.namespace, system["records"]}
    assert roles[system["records"]] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "create"]}
    ]


def test_the_gate_gives_the_same_outcomes_with_the_least_privilege_account(
    system: dict[str, Any],
) -> None:
    demo: DemoSystem = system["demo"]
    work: Path = system["work"]
    admin_code, admin = _predeploy(demo.target_file, system["signoffs"], work / "admin")
    account_code, account = _predeploy(
        system["account_target"], system["signoffs"], work / "account"
    )
    admin_outcomes, account_outcomes = outcomes(admin), outcomes(account)
    assert len(admin_outcomes) == 18, admin[-3000:]
    assert account_outcomes == admin_outcomes, account[-6000:]
    assert account_code == admin_code
    # The account really reached the cluster: every check that reads or dry-runs
    # against it passed, as it did for the admin.
    for check in (
        "test_cluster_healthy",
        "test_storage_availability",
        "test_backup_verification",
        "test_rollback_plan_prepared",
        "test_configuration_validation",
        "test_secret_management",
    ):
        assert account_outcomes[check] == "PASSED", (check, account[-6000:])
    assert "forbidden" not in account.lower(), account[-6000:]
    assert "NOT kept in its store" not in account, account[-3000:]


def test_deploy_with_the_predeploy_account_is_refused_before_anything_changes(
    system: dict[str, Any],
) -> None:
    demo: DemoSystem = system["demo"]
    before = _deployments(demo.cfg, demo.namespace)
    (system["work"] / "deploy").mkdir()
    code, output = run_suite(
        str(REPO / "suites" / "deploy"),
        *PLUGIN,
        "-m",
        "deploy",
        "--execute",
        "--target",
        str(system["account_target"]),
        "--env",
        "production",
        "--signoffs",
        str(system["signoffs"]),
        cwd=system["work"] / "deploy",
    )
    assert code == pytest.ExitCode.USAGE_ERROR, output[-4000:]
    refusal = [line for line in output.splitlines() if "refused before any check ran" in line]
    assert len(refusal) == 1, output[-4000:]
    line = refusal[0]
    # A change it may not make is named first: the deploy's own apply.
    assert " may not create " in line or " may not patch " in line, line
    assert f"account system:serviceaccount:{demo.namespace}:{ACCOUNT} may not " in line
    assert f"in namespace {demo.namespace}" in line or "(cluster-wide)" in line
    assert (
        f"gonogo rbac --target {system['account_target']} --env production -m deploy "
        f"--service-account {ACCOUNT} | kubectl apply -f -"
    ) in line
    assert "PASSED" not in output and "FAILED" not in output
    assert _deployments(demo.cfg, demo.namespace) == before
    # A refused run never started: it leaves no report behind.
    written = [p for p in (system["work"] / "deploy").rglob("*") if p.is_file()]
    assert not [p for p in written if p.suffix in (".html", ".xml", ".md")], written
