"""Fixtures for the end-to-end tests, which run against a sandbox that is
already up (``gonogo sandbox up``). When it is not, every test fails with one
line saying so: a skipped end-to-end suite would look green in CI.

Tests that create objects do it in their own namespace (``fresh_namespace``),
so the shared demo system in ``sophia`` stays as ``up`` left it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gonogo_sandbox import cluster, stack
from gonogo_sandbox import reset as sandbox_reset
from gonogo_sandbox.config import SandboxConfig
from kubernetes import client as k8s
from kubernetes import config as k8s_config

NOT_RUNNING = "sandbox is not running: run 'gonogo sandbox up'"
LIFECYCLE = "sandbox_lifecycle"
"""The marker (registered in the repository's conftest.py) of tests that restart the sandbox."""


def pytest_configure(config: pytest.Config) -> None:
    # What a sandbox client needs (kubeconfig, the local SaaS servers' tokens),
    # unless the caller already chose other values.
    for key, value in stack.client_env(SandboxConfig()).items():
        os.environ.setdefault(key, value)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the sandbox go last, so no other test sees it down."""
    items[:] = sorted(items, key=lambda item: item.get_closest_marker(LIFECYCLE) is not None)


@pytest.fixture(scope="session")
def sandbox_cfg() -> SandboxConfig:
    return SandboxConfig()


def _api_client(cfg: SandboxConfig) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(
        config_file=str(cfg.kubeconfig), context=cfg.kube_context
    )


def sandbox_is_up(cfg: SandboxConfig) -> bool:
    """The API server answers and the HTTP mirror has synced."""
    if not cfg.kubeconfig.is_file() or not stack.demo_ready(cfg):
        return False
    try:
        with _api_client(cfg) as api:
            k8s.VersionApi(api).get_code(_request_timeout=5)
    except Exception:  # any failure to reach it means "not running" here
        return False
    return True


@pytest.fixture(scope="session")
def sandbox_running(sandbox_cfg: SandboxConfig) -> SandboxConfig:
    """The running sandbox, reset once for the session (release v1.0.0, no
    fault, empty metric history): the tests must not depend on what an
    earlier demo, test run or release left in it."""
    if not sandbox_is_up(sandbox_cfg):
        pytest.fail(NOT_RUNNING, pytrace=False)
    sandbox_reset.reset(sandbox_cfg, out=lambda line: None)
    return sandbox_cfg


@pytest.fixture(scope="session")
def api_client(sandbox_running: SandboxConfig) -> Iterator[k8s.ApiClient]:
    """A kubernetes ApiClient for the sandbox's kubeconfig and context."""
    with _api_client(sandbox_running) as api:
        yield api


@pytest.fixture(scope="session")
def demo_url(sandbox_running: SandboxConfig) -> str:
    """Base URL of the HTTP mirror, e.g. http://127.0.0.1:18080."""
    return sandbox_running.url("demo")


@pytest.fixture(scope="session")
def bin_path(sandbox_running: SandboxConfig) -> Path:
    """The directory of the sandbox's kubectl and kwokctl."""
    return cluster.bin_dir()


@pytest.fixture
def kubectl(sandbox_running: SandboxConfig, bin_path: Path) -> Callable[..., str]:
    """Run the sandbox's kubectl; fails the test with kubectl's message on error."""

    def run(*args: str) -> str:
        result = cluster.kubectl(sandbox_running, bin_path, *args)
        if result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)}: {result.stderr.strip()}", pytrace=False)
        return result.stdout

    return run


@pytest.fixture
def fresh_namespace(api_client: k8s.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for one test, deleted afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"e2e-{slug}-{secrets.token_hex(3)}"
    core = k8s.CoreV1Api(api_client)
    core.create_namespace(
        k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels={"gonogo.dev/e2e": "true"})),
        _request_timeout=10,
    )
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name, _request_timeout=10)
        except k8s.ApiException as e:
            if e.status != 404:
                raise
