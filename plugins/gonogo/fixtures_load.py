"""Load and integration as parametrized fixtures.

* ``load_profile`` is parametrized with the environment's load profiles (every
  profile of ``--env``; a test narrows it with
  ``@pytest.mark.parametrize("load_profile", ["baseline"], indirect=True)``).
* ``load_run`` runs that profile once per session and target, in Locust
  processes of its own (``--load-workers N`` for a master and N workers),
  shows a live line while it runs, keeps the result (``gonogo.loadresult``)
  under the release the services were running, and yields a :class:`LoadRun`.
* ``running_release`` reads which release the environment's services run
  (their ``/version`` endpoints, else the Deployments' image tags), so a
  load result is never filed under a release nobody measured.
* ``workflow`` / ``critical_workflow`` are parametrized with the target's
  integration workflows (all of them / the business-critical ones);
  ``workflow_variables`` holds the built-in placeholders.

Parameters are the names from the target files of the run; a target that lacks
one (several ``--target`` files) skips that combination as not applicable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gonogo.errors import ConfigError, ProbeError
from gonogo.settings import Settings, get_settings

if TYPE_CHECKING:
    from gonogo.load.stats import LoadResult
    from gonogo.target import LoadProfile, Workflow

SANDBOX_WAIT_S = (0.05, 0.2)
"""Think time between one user's requests (min, max seconds)."""
VERSION_ATTEMPTS = 5
"""Requests per service, at most, to read the version it runs."""


@dataclass(frozen=True)
class NamedProfile:
    """A load profile of the environment, with its name."""

    name: str
    profile: LoadProfile


@dataclass(frozen=True)
class LoadRun:
    """One finished load run, as checks receive it."""

    profile: NamedProfile
    result: LoadResult
    result_file: Path
    chart_file: Path | None
    base_url: str
    workers: int


# --------------------------------------------------------------------------- #
# Parametrization
# --------------------------------------------------------------------------- #


def _targets(config: pytest.Config) -> list[Any]:
    from gonogo.plugin import TARGETS_KEY

    return list(config.stash.get(TARGETS_KEY, {}).values())


def _environments(target: Any, settings: Settings) -> list[str]:
    if settings.environment is not None:
        return [settings.environment] if settings.environment in target.environments else []
    return list(target.environments)


def profile_names(config: pytest.Config) -> list[str]:
    """Every load profile name of the run's targets and environment, first seen first."""
    settings = get_settings(config)
    names: dict[str, None] = {}
    for target in _targets(config):
        for env in _environments(target, settings):
            names.update(dict.fromkeys(target.environment(env).load_profiles))
    return list(names)


def workflow_names(config: pytest.Config, *, business_critical: bool = False) -> list[str]:
    settings = get_settings(config)
    names: dict[str, None] = {}
    for target in _targets(config):
        for env in _environments(target, settings):
            for workflow in target.workflows_for(env, business_critical=business_critical):
                names[workflow.name] = None
    return list(names)


def _explicitly_parametrized(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        names = argnames if isinstance(argnames, list | tuple) else str(argnames).split(",")
        if name in [n.strip() for n in names]:
            return True
    return False


_GENERATED: dict[str, Callable[[pytest.Config], list[str]]] = {
    "load_profile": profile_names,
    "workflow": workflow_names,
    "critical_workflow": lambda config: workflow_names(config, business_critical=True),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, names_of in _GENERATED.items():
        if name not in metafunc.fixturenames or _explicitly_parametrized(metafunc, name):
            continue
        names = names_of(metafunc.config)
        if not names:
            # Nothing to run: one parameter that explains itself when the test runs.
            names = [f"no-{name.replace('_', '-')}s"]
        metafunc.parametrize(name, names, indirect=True, ids=names, scope="session")


# --------------------------------------------------------------------------- #
# Load
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="session")
def load_profile(request: pytest.FixtureRequest, target: Any, environment: str) -> NamedProfile:
    """The environment's load profile named by the test's parameter."""
    name = str(request.param)
    profiles = target.environment(environment).load_profiles
    if name not in profiles:
        if name in profile_names(request.config):
            pytest.skip(f"target {target.name} has no load profile {name!r} for {environment}")
        try:
            target.load_profile(environment, name)
        except ConfigError as e:
            pytest.fail(
                f"{e}; add it under environments.{environment}.load_profiles", pytrace=False
            )
    return NamedProfile(name, profiles[name])


def _live_printer(config: pytest.Config, label: str) -> Callable[[dict[str, float]], None]:
    """Show each per-second sample on the terminal, past output capturing."""
    from gonogo.load.stats import live_line

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def show(sample: dict[str, float]) -> None:
        if reporter is None:
            return
        quiet = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with quiet:
            if reporter.isatty:
                reporter.rewrite(f"{label} {live_line(sample)}")
            else:
                reporter.write_line(f"{label} {live_line(sample)}")

    return show


def _write_result(
    release: str, environment: str, named: NamedProfile, result: LoadResult, directory: Path
) -> Path:
    """Keep the run under ``release``, the one the services were running."""
    from gonogo import loadresult

    record = loadresult.LoadRecord.of_run(
        result, release=release, environment=environment, profile=named.name
    )
    return loadresult.write(directory, record)


# --------------------------------------------------------------------------- #
# What is running
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RunningRelease:
    """Which release each service of an environment runs, as the services say."""

    versions: dict[str, str]
    """service -> version it reported."""
    source: str
    """Where the versions were read, for evidence and messages."""
    unread: list[str]
    """``service: why`` for each service whose version could not be read."""

    def by_version(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for service, version in self.versions.items():
            grouped.setdefault(version, []).append(service)
        return grouped

    @property
    def release(self) -> str | None:
        """The one release every service runs; None when mixed or unreadable."""
        grouped = self.by_version()
        return next(iter(grouped)) if len(grouped) == 1 and not self.unread else None

    def describe(self) -> str:
        return "; ".join(
            f"{version} ({', '.join(services)})" for version, services in self.by_version().items()
        )

    def problem(self) -> str | None:
        """Why no single release can be named; None when one can."""
        if self.unread:
            return (
                f"no data: the running version of {len(self.unread)} services could not be "
                f"read from {self.source}: {'; '.join(self.unread[:5])}; make their version "
                "endpoints answer (or give services[].version_path in the target)"
            )
        if not self.versions:
            return (
                f"no data: no service reports a version ({self.source}); give the services "
                "a version_path or an image in the target"
            )
        if len(self.by_version()) > 1:
            return (
                f"the services run mixed versions: {self.describe()}; finish the rollout "
                "(or roll it back) before measuring, so the result belongs to one release"
            )
        return None


def read_running_release(
    target: Any, environment: str, kube_context: str | None = None
) -> RunningRelease:
    """The services' own ``/version`` answers; for a target whose services have
    no ``version_path``, the image tags of their Deployments in the cluster."""
    from gonogo.probes.http import HttpRequest, probe

    services = [s for s in target.services if s.version_path]
    if not services:
        return _release_from_images(target, environment, kube_context)
    versions: dict[str, str] = {}
    why: dict[str, str] = {}
    pending = services
    # A service that fails some of its requests (the very thing a load test
    # measures) still says what it runs: ask again, a bounded number of times.
    for _ in range(VERSION_ATTEMPTS):
        requests = [
            HttpRequest(name=s.name, url=str(target.version_url(s, environment)), timeout=5.0)
            for s in pending
        ]
        for result in probe(requests, deadline=30.0):
            body = result.json if isinstance(result.json, dict) else {}
            version = body.get("version")
            if result.ok and isinstance(version, str) and version:
                versions[result.name] = version
                why.pop(result.name, None)
            else:
                why[result.name] = result.summary() if not result.ok else "answer has no 'version'"
        pending = [s for s in pending if s.name not in versions]
        if not pending:
            break
    ordered = {s.name: versions[s.name] for s in services if s.name in versions}
    unread = [f"{name}: {problem}" for name, problem in why.items()]
    return RunningRelease(ordered, f"the services' version endpoints on {environment}", unread)


def _release_from_images(target: Any, environment: str, kube_context: str | None) -> RunningRelease:
    from gonogo.probes.kube import DeploymentView, client_for

    namespace = target.namespace_for(environment)
    source = f"the Deployments' images in namespace {namespace}"
    try:
        kube = client_for(target, kube_context)
    except ConfigError as e:
        return RunningRelease({}, source, [f"cluster: {e}"])
    try:
        found = {d["metadata"]["name"]: d for d in kube.list_all("deployments", namespace)}
    except ProbeError as e:
        return RunningRelease({}, source, [f"cluster: {e}"])
    finally:
        kube.close()
    versions: dict[str, str] = {}
    unread: list[str] = []
    for service in target.release_services():
        raw = found.get(service.deployment_name)
        if raw is None:
            unread.append(f"{service.name}: deployment/{service.deployment_name} not found")
            continue
        try:
            versions[service.name] = DeploymentView(raw).image_tag(service.container)
        except ProbeError as e:
            unread.append(f"{service.name}: {e}")
    return RunningRelease(versions, source, unread)


@pytest.fixture(scope="session")
def running_release(
    target: Any, environment: str, gonogo_settings: Settings
) -> Callable[[], RunningRelease]:
    """Call it to read, now, which release the environment's services run."""
    return lambda: read_running_release(target, environment, gonogo_settings.kube_context)


@pytest.fixture(scope="session")
def load_run(
    request: pytest.FixtureRequest,
    target: Any,
    environment: str,
    gonogo_settings: Settings,
    load_profile: NamedProfile,
    load_results_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    running_release: Callable[[], RunningRelease],
) -> Iterator[LoadRun]:
    """Run the profile against the environment's base URL once, and share the result."""
    from gonogo.load.chart import write_chart
    from gonogo.load.launch import run_load
    from gonogo.load.spec import LoadSpec

    profile = load_profile.profile
    base_url = target.base_url_for(environment)
    spec = LoadSpec(
        base_url=base_url,
        users=profile.users,
        spawn_rate=profile.spawn_rate,
        duration_s=profile.duration_s,
        paths=dict(profile.paths),
        wait_min_s=SANDBOX_WAIT_S[0],
        wait_max_s=SANDBOX_WAIT_S[1],
    )
    workers = gonogo_settings.load_workers
    workdir = tmp_path_factory.mktemp(f"load-{load_profile.name}")
    label = f"[{target.name} {load_profile.name}{f' x{workers} workers' if workers else ''}]"
    name = load_profile.name
    before = running_release()
    if before.problem() is not None:
        pytest.fail(f"load run {name!r} on {environment}: {before.problem()}", pytrace=False)
    try:
        result = run_load(
            spec, workdir, workers=workers, on_sample=_live_printer(request.config, label)
        )
    except (ProbeError, ValueError) as e:
        pytest.fail(f"load run {name!r} against {base_url}: {e}", pytrace=False)
    after = running_release()
    if after.versions != before.versions or after.problem() is not None:
        pytest.fail(
            f"load run {name!r} on {environment}: the running versions changed while it ran "
            f"(before: {before.describe()}; after: {after.describe() or after.problem()}); "
            "the result belongs to no single release and is not kept; run it again once the "
            "rollout has settled",
            pytrace=False,
        )
    measured = str(before.release)
    result_file = _write_result(measured, environment, load_profile, result, load_results_dir)
    if measured != target.release:
        pytest.fail(
            f"the services on {environment} run {measured}, not {target.release}, the release "
            f"this run validates ({before.source}); the load result was kept as {measured}'s "
            f"({result_file}); deploy {target.release} first (the deploy stage with --execute)",
            pytrace=False,
        )
    limits = profile.thresholds
    chart_file: Path | None = None
    with contextlib.suppress(ImportError):
        chart_file = write_chart(
            result_file.with_suffix(".svg"),
            result,
            f"{load_profile.name} load on {environment} ({measured})",
            error_rate_max=limits.error_rate_max,
            latency_ms_max=limits.p95_ms_max or limits.mean_ms_max,
        )
    yield LoadRun(load_profile, result, result_file, chart_file, base_url, workers)


# --------------------------------------------------------------------------- #
# Integration workflows
# --------------------------------------------------------------------------- #


def _workflow(
    request: pytest.FixtureRequest, target: Any, environment: str, business_critical: bool
) -> Workflow:
    name = str(request.param)
    for workflow in target.workflows_for(environment, business_critical=business_critical):
        if workflow.name == name:
            return workflow
    kind = "business-critical workflows" if business_critical else "workflows"
    if name in workflow_names(request.config, business_critical=business_critical):
        pytest.skip(f"target {target.name} has no workflow {name!r} for {environment}")
    pytest.fail(
        f"target {target.name} lists no {kind} for {environment}; add them under workflows: "
        "(see docs/targets.md)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def workflow(request: pytest.FixtureRequest, target: Any, environment: str) -> Workflow:
    """One integration workflow of the target, for the environment."""
    return _workflow(request, target, environment, business_critical=False)


@pytest.fixture(scope="session")
def critical_workflow(request: pytest.FixtureRequest, target: Any, environment: str) -> Workflow:
    """One business-critical workflow of the target, for the environment."""
    return _workflow(request, target, environment, business_critical=True)


@pytest.fixture(scope="session")
def workflow_variables(target: Any, environment: str) -> dict[str, Any]:
    """The placeholders every workflow step may use without saving them first."""
    return {
        "release": target.release,
        "previous_release": target.previous_release,
        "environment": environment,
        "namespace": target.namespace_for(environment),
    }
