"""Load and integration as parametrized fixtures.

* ``load_profile`` is parametrized with the environment's load profiles (every
  profile of ``--env``; a test narrows it with
  ``@pytest.mark.parametrize("load_profile", ["baseline"], indirect=True)``).
* ``load_run`` runs that profile once per session and target, in Locust
  processes of its own (``--load-workers N`` for a master and N workers),
  shows a live line while it runs, writes the result where the pre-deploy
  "Performance testing" item reads it, and yields a :class:`LoadRun`.
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
    target: Any, environment: str, named: NamedProfile, result: LoadResult, directory: Path
) -> Path:
    """Write the run where the pre-deploy "Performance testing" item reads it."""
    from gonogo import loadresult

    record = loadresult.LoadRecord.of_run(
        result, release=target.release, environment=environment, profile=named.name
    )
    return loadresult.write(directory, record)


@pytest.fixture(scope="session")
def load_run(
    request: pytest.FixtureRequest,
    target: Any,
    environment: str,
    gonogo_settings: Settings,
    load_profile: NamedProfile,
    load_results_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
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
    try:
        result = run_load(
            spec, workdir, workers=workers, on_sample=_live_printer(request.config, label)
        )
    except (ProbeError, ValueError) as e:
        pytest.fail(f"load run {load_profile.name!r} against {base_url}: {e}", pytrace=False)
    result_file = _write_result(target, environment, load_profile, result, load_results_dir)
    limits = profile.thresholds
    chart_file: Path | None = None
    with contextlib.suppress(ImportError):
        chart_file = write_chart(
            result_file.with_suffix(".svg"),
            result,
            f"{load_profile.name} load on {environment} ({target.release})",
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
