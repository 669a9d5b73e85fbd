"""The fault matrix: every fault the sandbox can make, made through the
sandbox's own mechanisms, and what a user sees when gonogo meets it.

Each row names the fault and how it is made, the smallest selection of the
checklist (``-m`` and ``--phase``) that holds the item meant to catch it, the
phase and item that must fail with a message naming what was measured or
missing, and what must happen about a rollback:

=========================  ============================  ===========================  ========
fault                      made with                     must fail                    rollback
=========================  ============================  ===========================  ========
node NotReady              a Node no kubelet keeps       Kubernetes cluster healthy   none
Pending PVC                a claim on a missing class    Storage availability         none
plaintext secret           a ConfigMap with a password   Secret management            none
expiring certificate       TLS front re-issued, 10 days  DNS configuration            none
registry image missing     a release tag deleted         Build images (Phase 2)       none run
HubSpot refusing           the fake's ``available``      External API connectivity    planned
Redis down                 redis-server stopped          Database connectivity        planned
service unavailable (503)  ``unavailable`` annotation    Service health checks        planned
consistency key lost       key deleted after the gate    Data consistency             planned
error rate 20 %            faulty release, executed      Load testing: error rate     executed
latency 3 s                faulty release, executed      Load testing: mean response  executed
=========================  ============================  ===========================  ========

Rollback: "none" is no trigger at all (the pre-deployment stage never rolls
back); "none run" is a deploy stopped before it changed anything, nothing
undone and every Deployment as it was; "planned" is production's trigger, as a
dry run (``--rollback=plan``), naming the failed item; "executed" is the
release run with ``--execute --rollback=auto``, rolled back, ending on v1.0.0
with every service healthy.

Plus the precision case (3 % errors where production allows 5 % is not a
NO-GO on the error rate) and the flakiness guard (three healthy runs of one
selection are all GO).

Where a row runs matters. Faults that leave nothing behind once undone, and
whose checks send the services only requests that succeed, use the shared
demo system in ``sophia`` (under the sandbox lock, like every e2e run).
Faults that make the services answer errors or slowly use a copy of the demo
system in a namespace of this module's own: Prometheus keeps those answers for
its 5-minute windows, and the next user of ``sophia`` must not inherit them.
(The lost consistency key's row puts ``sophia`` on v1.1.0 between its gate and
its post-deploy run, with healthy traffic only, and the reset puts it back.)

One reset fixture serves every row: each injection registers how to undo
exactly what it changed, and after the row (passed or failed) the fixture
undoes it and checks that the namespace the row used serves v1.0.0 with no
fault and every service healthy, patching back only what is not.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import redis
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.snapshot import DeploymentView
from gonogo.integrations.monitoring import window as metric_window
from gonogo.integrations.monitoring.prometheus import (
    Prometheus,
    range_of,
    requests_query,
    samples_query,
)
from gonogo.model.target import Target, load_target
from gonogo_sandbox import faults
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services import redis as redis_service
from gonogo_sandbox.services import registry, tls
from gonogo_sandbox.services.fakes import state as fakes
from kubernetes import client as k8s

from tests.support.demo_system import DemoSystem, demo_system, fault, release_with
from tests.support.demo_system import target_copy as namespace_target
from tests.support.gate_inputs import target_copy as sandbox_target_copy
from tests.support.gate_inputs import write_backup, write_signoffs
from tests.support.suite_runner import REPO, SUITES, run_suite, verdict_lines

SOPHIA = "sophia"
"""The shared demo system's namespace (``gonogo sandbox up``)."""
DEMO_RELEASE = "v1.0.0"
FAULTY = "mcp-context"
"""The service the HTTP faults are put on."""
WAIT_S = 120.0
"""How long the demo system may take to serve a release again after a change."""
E2E_LABEL = {"gonogo.dev/e2e": "true"}

System = Literal["sophia", "matrix"]
Rollback = Literal["none", "none run", "planned", "executed"]


# --------------------------------------------------------------------------- #
# Reading a run the way a user does: exit code, verdict line, JUnit, rollback
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Case:
    """One test case of the run's JUnit XML, named after its checklist item."""

    name: str
    phase: str
    outcome: str
    """passed | failed | skipped (pytest's error, a failed setup, counts as failed)."""
    message: str


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    reports: Path

    @property
    def verdict(self) -> str:
        """The verdict line (the last line that starts with GO or NO-GO)."""
        lines = verdict_lines(self.output)
        assert lines, f"no verdict line in the output:\n{self.output[-3000:]}"
        return lines[-1]

    def cases(self) -> list[Case]:
        path = self.reports / "junit-production.xml"
        assert path.is_file(), f"no JUnit XML at {path}:\n{self.output[-3000:]}"
        found = []
        for case in ET.parse(path).getroot().iter("testcase"):
            outcome, message = "passed", ""
            for tag, name in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
                element = case.find(tag)
                if element is not None:
                    outcome = name
                    message = f"{element.get('message', '')}\n{element.text or ''}"
                    break
            # classname is "<target>.<stage>.<phase>"; dots inside a part are U+2024
            phase = case.get("classname", "").split(".")[-1].replace("\u2024", ".")
            found.append(Case(case.get("name", ""), phase, outcome, message))
        return found

    def case(self, name: str) -> Case:
        matching = [c for c in self.cases() if c.name == name]
        assert len(matching) == 1, (name, [c.name for c in self.cases()])
        return matching[0]

    def failed(self) -> list[Case]:
        return [c for c in self.cases() if c.outcome == "failed"]

    @property
    def rollback(self) -> str:
        """The run's rollback section (trigger, plan, steps); empty when none."""
        match = re.search(r"^-+ rollback \(.*?(?=^=+ gonogo verdict)", self.output, re.M | re.S)
        return match.group(0) if match else ""

    def explain(self) -> str:
        failed = "\n".join(
            f"  {c.name} [{c.phase}]: {c.message.strip()[:300]}" for c in self.failed()
        )
        return f"exit {self.code}; {self.verdict}\nfailed:\n{failed}\n{self.output[-2500:]}"


def gonogo(target: Path, *selection: str, cwd: Path) -> Run:
    """The operator's command against ``target`` in production, reports in ``cwd/reports``."""
    code, output = run_suite(
        str(SUITES), "--target", str(target), "--env", "production", *selection, cwd=cwd
    )
    return Run(code, output, cwd / "reports")


ROLLED_BACK_STEP = re.compile(r"^\s+deployment/\S+: revision \S+ -> \S+: rolled back", re.M)


# --------------------------------------------------------------------------- #
# The demo system: what it serves, and putting it back
# --------------------------------------------------------------------------- #


def _base_url(cfg: SandboxConfig, namespace: str) -> str:
    demo = cfg.url("demo")
    return demo if namespace == SOPHIA else f"{demo}/_ns/{namespace}"


def serving(cfg: SandboxConfig, namespace: str) -> dict[str, dict[str, Any]]:
    """What the HTTP mirror serves per Deployment: version, faults, availability."""
    answer = httpx.get(
        f"{cfg.url('demo')}/_sandbox/services", params={"namespace": namespace}, timeout=5
    )
    answer.raise_for_status()
    return {s["name"]: s for s in answer.json()}


def demo_problems(cfg: SandboxConfig, target: Target, namespace: str, release: str) -> list[str]:
    """Why ``namespace`` is not serving ``release`` healthily with no fault (empty when it is)."""
    served = serving(cfg, namespace)
    base = _base_url(cfg, namespace)
    problems = []
    with httpx.Client(timeout=5) as client:
        for service in target.services:
            if not service.health_path:
                continue
            view = served.get(service.deployment_name)
            if view is None:
                problems.append(f"{service.name}: not mirrored")
                continue
            if view["version"] != release or view["faults"] != "none":
                problems.append(f"{service.name}: {view['version']}, faults {view['faults']}")
                continue
            status = client.get(base + service.health_path).status_code
            if status != 200:
                problems.append(f"{service.name}: health HTTP {status}")
    return problems


def wait_for_demo(cfg: SandboxConfig, target: Target, namespace: str, release: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while problems := demo_problems(cfg, target, namespace, release):
        assert time.monotonic() < deadline, (
            f"{namespace} does not serve {release} healthily after {WAIT_S:.0f} s: {problems}"
        )
        time.sleep(0.5)


def set_release(kube: KubeClient, target: Target, namespace: str, release: str) -> list[str]:
    """Patch every release Deployment of ``namespace`` to ``release``'s image with no
    fault annotation and not paused, as ``gonogo sandbox up`` leaves them; only
    Deployments that differ are patched. Returns the ones patched."""
    live = {d["metadata"]["name"]: d for d in kube.list_all("deployments", namespace)}
    patched = []
    for service in target.release_services():
        raw = live.get(service.deployment_name)
        if raw is None:
            continue
        view = DeploymentView(raw)
        template = raw["spec"]["template"]
        container = service.container or view.containers[0]["name"]
        image = target.image_ref(service, release)
        annotations = template.get("metadata", {}).get("annotations") or {}
        stray = [key for key in faults.ALL if key in annotations]
        if view.image(container) == image and not stray and not view.paused:
            continue
        patch: dict[str, Any] = {
            "spec": {
                "paused": False,
                "template": {
                    "metadata": {"annotations": dict.fromkeys(stray)},
                    "spec": {"containers": [{"name": container, "image": image}]},
                },
            }
        }
        kube.apps.patch_namespaced_deployment(
            service.deployment_name, namespace, patch, _request_timeout=10
        )
        patched.append(service.deployment_name)
    return patched


def annotate(
    kube: KubeClient, namespace: str, deployment: str, values: dict[str, str | None]
) -> None:
    """Put fault annotations on (or, with None, off) a pod template: a rollout,
    as ``gonogo sandbox fault`` makes."""
    patch = {"spec": {"template": {"metadata": {"annotations": values}}}}
    kube.apps.patch_namespaced_deployment(deployment, namespace, patch, _request_timeout=10)


def wait_serving_fault(cfg: SandboxConfig, namespace: str, deployment: str, words: str) -> None:
    """Until the mirror serves ``deployment`` from a ReplicaSet with the fault ``words``."""
    deadline = time.monotonic() + WAIT_S
    while (now := serving(cfg, namespace).get(deployment, {}).get("faults")) != words:
        assert time.monotonic() < deadline, f"{namespace}/{deployment} serves faults {now!r}"
        time.sleep(0.5)


# --------------------------------------------------------------------------- #
# The sandbox handle each row gets, and the reset shared by all rows
# --------------------------------------------------------------------------- #


@dataclass
class Sandbox:
    """What an injection may use and how it registers its undo."""

    cfg: SandboxConfig
    kube: KubeClient
    target: Target
    """targets/sandbox.yaml, for service names, images and paths."""
    namespace: str
    """Where the row runs: ``sophia`` or the matrix's own namespace."""
    work: Path
    """The row's directory; the runs use ``work/reports``, one reports dir for all."""
    target_file: Path
    """The row's target copy (pointed at ``namespace``)."""
    signoffs: Path
    undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def on_reset(self, what: str, action: Callable[[], None]) -> None:
        self.undo.append((what, action))

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.cfg.url("redis", "redis"), socket_timeout=2)

    def reset(self) -> list[str]:
        """Undo what the row registered, newest first, then put the row's namespace
        back on v1.0.0 with no fault; returns what could not be put back."""
        errors = []
        for what, action in reversed(self.undo):
            try:
                action()
            except Exception as e:  # keep undoing the rest; reported as the row's error
                errors.append(f"{what}: {e.__class__.__name__}: {e}")
        self.undo.clear()
        try:
            if set_release(self.kube, self.target, self.namespace, DEMO_RELEASE) or demo_problems(
                self.cfg, self.target, self.namespace, DEMO_RELEASE
            ):
                wait_for_demo(self.cfg, self.target, self.namespace, DEMO_RELEASE)
        except Exception as e:  # the namespace could not be restored: say so loudly
            errors.append(f"restore {self.namespace} to {DEMO_RELEASE}: {e}")
        return errors


@pytest.fixture(scope="module")
def sandbox_target() -> Target:
    return load_target(REPO / "targets" / "sandbox.yaml")


@pytest.fixture(scope="module")
def kube(sandbox_running: SandboxConfig) -> Iterator[KubeClient]:
    client = KubeClient(kubeconfig=sandbox_running.kubeconfig, context=sandbox_running.kube_context)
    yield client
    client.close()


@pytest.fixture(scope="module")
def gate_files(tmp_path_factory: pytest.TempPathFactory, kube: KubeClient) -> dict[str, Path]:
    """What the pre-deployment gate reads besides the cluster: a fresh backup of
    ``sophia`` and the sign-offs of the release."""
    work = tmp_path_factory.mktemp("gate")
    write_backup(kube, SOPHIA, work / "backups")
    return {"backups": work / "backups", "signoffs": write_signoffs(work / "signoffs.yaml")}


@pytest.fixture(scope="module")
def matrix_system(
    sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoSystem]:
    """The demo system at v1.0.0 in this module's own namespace, for the rows
    whose faults make services answer errors or slowly."""
    with demo_system(tmp_path_factory.mktemp("matrix"), "matrix") as demo:
        yield demo


@pytest.fixture
def sandbox_for(
    request: pytest.FixtureRequest,
    sandbox_running: SandboxConfig,
    kube: KubeClient,
    sandbox_target: Target,
    gate_files: dict[str, Path],
    tmp_path: Path,
) -> Iterator[Callable[[System, dict[str, Any]], Sandbox]]:
    """``sandbox_for(system, target_changes)``: the row's Sandbox, reset after the row."""
    made: list[Sandbox] = []

    def make(system: System, changes: dict[str, Any]) -> Sandbox:
        if system == "sophia":
            namespace = SOPHIA
            target_file = sandbox_target_copy(
                tmp_path / "target.yaml", {"backups_dir": str(gate_files["backups"]), **changes}
            )
        else:
            demo: DemoSystem = request.getfixturevalue("matrix_system")
            namespace = demo.namespace
            target_file = namespace_target(namespace, tmp_path, sandbox_running, changes)
        sandbox = Sandbox(
            sandbox_running,
            kube,
            sandbox_target,
            namespace,
            tmp_path,
            target_file,
            gate_files["signoffs"],
        )
        made.append(sandbox)
        return sandbox

    yield make
    errors = [e for sandbox in made for e in sandbox.reset()]
    if errors:
        pytest.fail("the sandbox was not put back: " + "; ".join(errors), pytrace=False)


# --------------------------------------------------------------------------- #
# The faults. Each makes its fault, registers its undo, and returns the names
# the failure message must carry; "target" entries change the row's target.
# --------------------------------------------------------------------------- #

Injected = dict[str, Any]


def _unique(prefix: str) -> str:
    return f"e2e-matrix-{prefix}-{secrets.token_hex(3)}"


def _ignore_missing(call: Callable[..., Any], *args: Any) -> None:
    try:
        call(*args, _request_timeout=10)
    except k8s.ApiException as e:
        if e.status != 404:
            raise


def node_not_ready(sb: Sandbox) -> Injected:
    """A Node that no kubelet keeps alive: the sandbox's kwok manages only its
    own nodes, so this one never reports Ready, as a dead machine would not."""
    name = _unique("node")
    body = k8s.V1Node(
        metadata=k8s.V1ObjectMeta(name=name, labels=E2E_LABEL),
        spec=k8s.V1NodeSpec(taints=[k8s.V1Taint(key="gonogo.dev/e2e", effect="NoSchedule")]),
    )
    sb.kube.core.create_node(body, _request_timeout=10)
    sb.on_reset(f"delete node {name}", lambda: _ignore_missing(sb.kube.core.delete_node, name))
    return {"node": name}


def pending_claim(sb: Sandbox) -> Injected:
    """A PersistentVolumeClaim on a StorageClass that does not exist: Pending for ever."""
    name = _unique("data")
    body = k8s.V1PersistentVolumeClaim(
        metadata=k8s.V1ObjectMeta(name=name, labels=E2E_LABEL),
        spec=k8s.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name="e2e-no-such-class",
            resources=k8s.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
        ),
    )
    core = sb.kube.core
    core.create_namespaced_persistent_volume_claim(sb.namespace, body, _request_timeout=10)
    sb.on_reset(
        f"delete pvc {name}",
        lambda: _ignore_missing(core.delete_namespaced_persistent_volume_claim, name, sb.namespace),
    )
    deadline = time.monotonic() + 30
    while (phase := _claim_phase(core, name, sb.namespace)) != "Pending":
        assert time.monotonic() < deadline, f"PVC {name} is {phase}, never reported Pending"
        time.sleep(0.3)
    return {"claim": name}


def _claim_phase(core: k8s.CoreV1Api, name: str, namespace: str) -> str | None:
    claim = core.read_namespaced_persistent_volume_claim(name, namespace, _request_timeout=10)
    return claim.status.phase if claim.status else None


def plaintext_configmap(sb: Sandbox) -> Injected:
    """A ConfigMap holding a password in plain text next to ordinary settings."""
    name = _unique("config")
    value = f"plaintext-{secrets.token_hex(8)}"
    body = k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name=name, labels=E2E_LABEL),
        data={"LOG_LEVEL": "info", "DB_PASSWORD": value},
    )
    core = sb.kube.core
    core.create_namespaced_config_map(sb.namespace, body, _request_timeout=10)
    sb.on_reset(
        f"delete configmap {name}",
        lambda: _ignore_missing(core.delete_namespaced_config_map, name, sb.namespace),
    )
    return {"configmap": name, "value": value}


CERT_DAYS = 10
"""Inside production's 14-day warning window, and not yet expired."""


def expiring_certificate(sb: Sandbox) -> Injected:
    """The TLS front's certificate re-issued by the sandbox CA for 10 days; the
    front serves it from its next connection. The original files go back after."""
    files = (tls.server_cert_file(sb.cfg), tls.server_key_file(sb.cfg))
    saved = {path: path.read_bytes() for path in files}

    def restore() -> None:
        for path, data in saved.items():
            path.write_bytes(data)

    sb.on_reset("restore the TLS front's certificate", restore)
    tls.issue_server_cert(sb.cfg, valid_for=dt.timedelta(days=CERT_DAYS))
    return {"port": str(sb.cfg.port("tls"))}


MISSING_REPOSITORY = "sophia-mcp-context"


def registry_tag_missing(sb: Sandbox) -> Injected:
    """The release's image of one service deleted from the registry (by digest,
    as a registry's garbage collection or a failed push leaves it); the
    sandbox's publish step pushes the identical image back after."""
    release = sb.target.release
    digest = registry.manifest_digest(sb.cfg, MISSING_REPOSITORY, release)
    assert digest, f"{MISSING_REPOSITORY}:{release} is not in the registry to begin with"

    def republish() -> None:
        registry.publish(sb.cfg)
        back = registry.manifest_digest(sb.cfg, MISSING_REPOSITORY, release)
        assert back == digest, f"republished {MISSING_REPOSITORY}:{release} is {back}, was {digest}"

    sb.on_reset(f"push {MISSING_REPOSITORY}:{release} again", republish)
    deleted = httpx.delete(
        f"{registry.url(sb.cfg)}/v2/{MISSING_REPOSITORY}/manifests/{digest}", timeout=10
    )
    assert deleted.status_code == 202, deleted.text
    assert registry.manifest_digest(sb.cfg, MISSING_REPOSITORY, release) is None
    before = {
        d["metadata"]["name"]: (d["metadata"]["generation"], DeploymentView(d).image())
        for d in sb.kube.list_all("deployments", sb.namespace)
    }
    image = f"{registry.address(sb.cfg)}/{MISSING_REPOSITORY}:{release}"
    return {"image": re.escape(image), "deployments": before}


def hubspot_refusing(sb: Sandbox) -> Injected:
    """The HubSpot stand-in answering 503 to every authenticated call."""
    before = fakes.load(sb.cfg).get("hubspot", {}).get("available", True)

    def available_again() -> None:
        fakes.update(sb.cfg, hubspot={"available": before})

    sb.on_reset("HubSpot available again", available_again)
    fakes.update(sb.cfg, hubspot={"available": False})
    return {}


def redis_down(sb: Sandbox) -> Injected:
    """redis-server stopped. The sandbox's Redis keeps nothing on disk, so every
    key is dumped first and restored, with its expiry, once it runs again."""
    client = sb.redis()
    saved = [(key, client.pttl(key), client.dump(key)) for key in client.scan_iter(count=500)]
    client.close()

    def restart() -> None:
        start_redis()
        again = sb.redis()
        try:
            for key, ttl, value in saved:
                if value is not None:
                    again.restore(key, max(int(ttl), 0), value, replace=True)
        finally:
            again.close()

    sb.on_reset("start Redis and restore its keys", restart)
    redis_service.stop(sb.cfg)
    health = f"{_base_url(sb.cfg, sb.namespace)}/{FAULTY}/health"
    deadline = time.monotonic() + 15
    while httpx.get(health, timeout=5).status_code != 503:  # the mirror PINGs once a second
        assert time.monotonic() < deadline, "the mirror still reports Redis ok"
        time.sleep(0.3)
    return {}


START_REDIS = """
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services import redis
redis.start(SandboxConfig())
"""


def start_redis() -> None:
    """Start the sandbox's redis-server again, as ``gonogo sandbox up`` does, from
    a process of its own: the starter keeps no handle on the server it spawns,
    which pytest's process would report as a leaked subprocess."""
    subprocess.run([sys.executable, "-c", START_REDIS], check=True, capture_output=True, timeout=60)


def service_unavailable(sb: Sandbox) -> Injected:
    """Every request to one service answers 503 (the ``unavailable`` fault annotation)."""
    sb.on_reset(
        f"clear the fault on {FAULTY}",
        lambda: annotate(sb.kube, sb.namespace, FAULTY, dict.fromkeys(faults.ALL)),
    )
    annotate(sb.kube, sb.namespace, FAULTY, {faults.UNAVAILABLE: "true"})
    wait_serving_fault(sb.cfg, sb.namespace, FAULTY, "unavailable")
    return {"service": FAULTY}


def faulty_release(annotation: str, value: str) -> Callable[[Sandbox], Injected]:
    """The release with a fault annotation on one service's pod template: what
    a bad build of that service looks like to the deploy stage. The release's
    own rollback must undo it; the reset only checks that it did."""

    def inject(sb: Sandbox) -> Injected:
        manifests = release_with(sb.work, FAULTY, fault(annotation, value))
        return {"service": FAULTY, "target": {"manifests_dir": str(manifests)}}

    return inject


def serve_until_measured(sb: Sandbox, release: str) -> None:
    """Send the release user traffic (health requests) until Prometheus holds
    enough of its own samples for "Performance metrics" to judge it: the
    product's minimum of samples and requests per service since the rollout."""
    started = time.monotonic()
    base = _base_url(sb.cfg, sb.namespace)
    paths = {s.deployment_name: s.health_path for s in sb.target.services if s.health_path}
    need = (metric_window.MIN_SAMPLES, metric_window.MIN_REQUESTS)
    url = sb.target.monitoring.prometheus
    assert url, "targets/sandbox.yaml names no Prometheus"
    with httpx.Client(timeout=5) as client, Prometheus(url) as prom:
        while True:
            for path in paths.values():
                client.get(base + str(path))
            span = range_of(time.monotonic() - started)
            samples = prom.by_label(samples_query(sb.namespace, span, release))
            requests = prom.by_label(requests_query(sb.namespace, span, release))
            short = {
                name: (samples.get(name), requests.get(name))
                for name in paths
                if (samples.get(name) or 0) < need[0] or (requests.get(name) or 0) < need[1]
            }
            if not short:
                return
            assert time.monotonic() - started < WAIT_S, (
                f"Prometheus holds too few samples/requests of {release}: {short}"
            )
            time.sleep(0.5)


def consistency_key_lost(sb: Sandbox) -> Injected:
    """The pre-deployment gate fingerprints the consistency keys; the release is
    put in place; then one of those keys is deleted, as a migration that drops
    data would. Gate and post-deploy share the row's reports dir."""
    gate = gonogo(
        sb.target_file,
        "-m",
        "predeploy",
        "--phase",
        "Planning and Preparation",
        "--signoffs",
        str(sb.signoffs),
        cwd=sb.work,
    )
    assert gate.code == 0 and gate.verdict.startswith("GO"), gate.explain()
    assert gate.case("Backup verification").outcome == "passed", gate.explain()

    # the reset puts the namespace back on v1.0.0 after the row
    set_release(sb.kube, sb.target, sb.namespace, sb.target.release)
    wait_for_demo(sb.cfg, sb.target, sb.namespace, sb.target.release)
    serve_until_measured(sb, sb.target.release)

    assert sb.target.redis is not None
    key = sb.target.redis.consistency_keys[0]
    client = sb.redis()
    dumped, ttl = client.dump(key), client.pttl(key)
    assert dumped is not None, f"{key} is not in Redis; 'gonogo sandbox up' seeds it"

    def put_back() -> None:
        again = sb.redis()
        try:
            again.restore(key, max(int(ttl), 0), dumped, replace=True)
        finally:
            again.close()

    sb.on_reset(f"restore Redis key {key}", put_back)
    client.delete(key)
    client.close()
    return {"key": re.escape(key)}


# --------------------------------------------------------------------------- #
# The rows
# --------------------------------------------------------------------------- #

INFRASTRUCTURE = ("-m", "predeploy", "--phase", "Infrastructure Readiness")
REVIEW = ("-m", "predeploy", "--phase", "Code and Configuration Review")
IMMEDIATE = ("-m", "postdeploy", "--phase", "Immediate Validation")
BUSINESS = ("-m", "postdeploy", "--phase", "Business Validation")
RELEASE = ("-m", "deploy or postdeploy", "--execute", "--rollback=auto")
IN_PLACE = {"release": DEMO_RELEASE, "previous_release": "v0.9.0"}
"""Target changes for post-deployment checks of the release the demo system
runs (v1.0.0): "Service health checks" require every service on the target's
release, and these rows are about another fault."""


@dataclass(frozen=True)
class Row:
    inject: Callable[[Sandbox], Injected]
    system: System
    selection: tuple[str, ...]
    phase: str
    """Words of the phase that must fail, as the verdict line and JUnit name it."""
    failing: dict[str, str]
    """JUnit case (checklist item) -> regex its message must match; exactly these
    fail. ``{name}`` fields come from the injection."""
    rollback: Rollback
    trigger: str = ""
    """Regex the rollback trigger must match (planned and executed rows)."""
    target: dict[str, Any] = field(default_factory=dict)
    may_also_fail: dict[str, str] = field(default_factory=dict)
    """Items of the selection that may fail too, each only with a message
    matching its regex: the same fault met by a check that samples too few
    requests to fail every time, or a proof this matrix does not make."""


ROWS: dict[str, Row] = {
    "node-not-ready": Row(
        node_not_ready,
        "sophia",
        INFRASTRUCTURE,
        "Infrastructure Readiness",
        {"Kubernetes cluster healthy": r"nodes not Ready: {node}"},
        "none",
    ),
    "pvc-pending": Row(
        pending_claim,
        "sophia",
        INFRASTRUCTURE,
        "Infrastructure Readiness",
        {
            "Storage availability": r"PVC {claim} is Pending, not Bound.*"
            r"PVC {claim} uses StorageClass e2e-no-such-class, which does not exist"
        },
        "none",
    ),
    "configmap-plaintext-secret": Row(
        plaintext_configmap,
        "sophia",
        REVIEW,
        "Code and Configuration Review",
        {
            "Secret management": r"ConfigMap {configmap} key DB_PASSWORD "
            r"\(key name says secret and the value is plaintext\)"
        },
        "none",
        # its proof is a staging run's record, which this matrix does not make
        may_also_fail={"Performance testing": r"no data: no staging run record"},
    ),
    "certificate-expiring": Row(
        expiring_certificate,
        "sophia",
        INFRASTRUCTURE,
        "Infrastructure Readiness",
        {
            "DNS configuration": r"localhost:{port} certificate expires in (9\.9|10\.0) days "
            r"< 14 days required"
        },
        "none",
    ),
    "registry-image-missing": Row(
        registry_tag_missing,
        "sophia",
        # the whole deploy stage, executed: Phase 2 must also stop it before
        # Phase 3 changes anything
        ("-m", "deploy", "--execute"),
        "Phase 2",
        {
            "Build images for all services": r"1 of 10 release images missing: {image}: "
            r".*manifest unknown",
            "mcp-context [mcp-context]": r"{image}: .*manifest unknown",
            "Image security scanning": r"{image} \(.*manifest unknown",
            "Image registry push": r"{image}: .*manifest unknown",
        },
        "none run",
    ),
    "hubspot-refusing": Row(
        hubspot_refusing,
        "sophia",
        IMMEDIATE,
        "Immediate Validation",
        {"External API connectivity": r"external APIs unreachable: hubspot\b[^;]*: HTTP 503 in "},
        "planned",
        trigger=r"failed check in Immediate Validation.*External API connectivity",
        target=IN_PLACE,
    ),
    "redis-down": Row(
        redis_down,
        "matrix",
        IMMEDIATE,
        "Immediate Validation",
        {
            "Service health checks": r"9 of 9 services unhealthy: .*HTTP 503",
            "Database connectivity": r"127\.0\.0\.1:16379",
        },
        "planned",
        trigger=r"failed check in Immediate Validation.*Database connectivity",
        target=IN_PLACE,
    ),
    "service-unavailable-503": Row(
        service_unavailable,
        "matrix",
        IMMEDIATE,
        "Immediate Validation",
        {"Service health checks": r"1 of 9 services unhealthy: {service}: HTTP 503"},
        "planned",
        trigger=r"failed check in Immediate Validation.*Service health checks",
        target=IN_PLACE,
    ),
    "consistency-key-lost": Row(
        consistency_key_lost,
        "sophia",
        BUSINESS,
        "Business Validation",
        {"Data consistency": r"data changed across the release: {key}: lost"},
        "planned",
        trigger=r"failed check in Business Validation.*Data consistency",
    ),
    "error-rate-20pct": Row(
        faulty_release(faults.ERROR_RATE, "0.2"),
        "matrix",
        RELEASE,
        "Extended Validation",
        {"Load testing": r"error rate [12]\d\.\d% > 5\.0% over [\d,]+ requests to {service}"},
        "executed",
        trigger=r"error rate for {service} [12]\d\.\d% > 5\.0%",
        # one request in five fails: a workflow's single request to it may be one
        may_also_fail={
            "Integration testing": r"GET \S+/{service}/health\): expected status 200, got 500"
        },
    ),
    "latency-3s": Row(
        faulty_release(faults.LATENCY, "3"),
        "matrix",
        RELEASE,
        "Extended Validation",
        {
            "Load testing": r"mean response [3-9]\.\d\d s > 2\.00 s over [\d,]+ requests to {service}"
        },
        "executed",
        trigger=r"mean response for {service} [3-9]\.\d\d s > 2\.00 s",
    ),
}


def _fill(pattern: str, names: Injected) -> str:
    return pattern.format(**{k: v for k, v in names.items() if isinstance(v, str)})


@pytest.mark.parametrize("name", list(ROWS))
def test_fault_is_caught_at_its_item(name: str, sandbox_for: Any) -> None:
    row = ROWS[name]
    sb: Sandbox = sandbox_for(row.system, row.target)
    names = row.inject(sb)
    target_file = sb.target_file
    if "target" in names:  # a faulty release: its manifests, in the matrix's namespace
        assert row.system == "matrix", name
        target_file = namespace_target(
            sb.namespace, sb.work, sb.cfg, {**row.target, **names["target"]}
        )

    run = gonogo(target_file, *row.selection, cwd=sb.work)

    assert run.code == 1, run.explain()
    assert run.verdict.startswith("NO-GO"), run.explain()
    assert row.phase in run.verdict, run.explain()
    failed = {c.name: c for c in run.failed()}
    assert set(failed) - set(row.may_also_fail) == set(row.failing), run.explain()
    for item, pattern in row.may_also_fail.items():
        if item in failed:
            assert re.search(_fill(pattern, names), failed[item].message, re.S), (
                item,
                failed[item].message,
            )
    for item, pattern in row.failing.items():
        assert row.phase in failed[item].phase, (item, failed[item].phase)
        assert re.search(_fill(pattern, names), failed[item].message, re.S), (
            item,
            _fill(pattern, names),
            failed[item].message,
        )

    if row.rollback == "none":
        assert not run.rollback, run.rollback
    elif row.rollback == "none run":
        # the gate stopped the deploy before it changed anything: nothing to undo
        assert not ROLLED_BACK_STEP.search(run.output), run.rollback
        assert "nothing to roll back: no deployment runs" in run.verdict, run.verdict
        blocked = [c for c in run.cases() if c.outcome == "skipped"]
        assert blocked and all(f"blocked by {row.phase}" in c.message for c in blocked), [
            (c.name, c.message) for c in blocked
        ]
        after = {
            d["metadata"]["name"]: (d["metadata"]["generation"], DeploymentView(d).image())
            for d in sb.kube.list_all("deployments", sb.namespace)
        }
        assert after == names["deployments"], "the deploy changed Deployments after Phase 2 failed"
    else:
        trigger = _fill(row.trigger, names)
        assert re.search(trigger, run.rollback), run.rollback or run.explain()
        assert re.search(trigger, run.verdict), run.verdict
        if row.rollback == "planned":
            assert not ROLLED_BACK_STEP.search(run.output), run.rollback
        else:
            assert ROLLED_BACK_STEP.search(run.output), run.rollback
            # done means every service seen back on the previous release
            assert re.search(
                rf"rolled back: \d+ deployments, verified on {re.escape(DEMO_RELEASE)};",
                run.verdict,
            ), run.verdict
            # the sandbox ends on the previous release, every service healthy
            wait_for_demo(sb.cfg, sb.target, sb.namespace, DEMO_RELEASE)
            url = f"{_base_url(sb.cfg, sb.namespace)}/{FAULTY}/health"
            with httpx.Client(timeout=10) as client:
                codes = [client.get(url).status_code for _ in range(40)]
            assert codes.count(200) == len(codes), codes

    secret = names.get("value")
    if secret:
        written = {"output": run.output}
        written |= {str(p): p.read_text() for p in run.reports.rglob("*") if p.is_file()}
        leaked = [where for where, text in written.items() if secret in text]
        assert not leaked, f"the plaintext value reached {leaked}"


# --------------------------------------------------------------------------- #
# Precision and flakiness
# --------------------------------------------------------------------------- #

MEASURED = ("-m", "postdeploy", "--phase", "Immediate Validation", "--phase", "Extended Validation")
"""Health, load and workflows: the checks that measure the services."""


def test_errors_below_the_limit_are_not_a_no_go_on_the_error_rate(sandbox_for: Any) -> None:
    """3 % errors where production allows 5 %: the item that judges the error
    rate passes and no verdict or trigger names the error rate (the run may
    still be NO-GO for another, honest, reason).

    The sandbox's 5-second baseline sends the faulty service about 40
    requests, where one request is 2.5 % and two errors in 39 read 5.1 %: a
    resolution too coarse to tell 3 % from 5 %. The row's target runs the
    baseline long enough for about 100."""
    longer = {"environments": {"production": {"load_profiles": {"baseline": {"duration_s": 12}}}}}
    sb: Sandbox = sandbox_for("matrix", IN_PLACE | longer)
    sb.on_reset(
        f"clear the fault on {FAULTY}",
        lambda: annotate(sb.kube, sb.namespace, FAULTY, dict.fromkeys(faults.ALL)),
    )
    annotate(sb.kube, sb.namespace, FAULTY, {faults.ERROR_RATE: "0.03"})
    wait_serving_fault(sb.cfg, sb.namespace, FAULTY, "error-rate 0.03")

    run = gonogo(sb.target_file, *MEASURED, cwd=sb.work)

    load = run.case("Load testing")
    assert load.outcome == "passed", run.explain()
    assert "error rate" not in run.verdict, run.verdict
    assert "error rate" not in run.rollback, run.rollback


def test_three_healthy_runs_are_all_go(sandbox_for: Any) -> None:
    """The flakiness guard: the measuring selection, three times on a healthy
    system, is GO every time."""
    sb: Sandbox = sandbox_for("matrix", IN_PLACE)
    verdicts = []
    for attempt in (1, 2, 3):
        work = sb.work / f"run{attempt}"
        work.mkdir()
        run = gonogo(sb.target_file, *MEASURED, cwd=work)
        verdicts.append(run.verdict)
        assert run.code == 0 and run.verdict.startswith("GO"), f"run {attempt}: {run.explain()}"
    assert len(verdicts) == 3
