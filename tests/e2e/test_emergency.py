"""The emergency procedures on a fresh demo system, each step proven by
reading the cluster afterwards."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s

from tests.support.demo_system import demo_system
from tests.support.suite_runner import run_release


def test_emergency_steps_do_what_they_say(sandbox_running: object, tmp_path: Path) -> None:
    with demo_system(tmp_path, "emergency") as demo, demo.api() as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        skipped = run_release(demo.target_file, tmp_path / "r0", "-k", "emergency")
        assert "emergency procedures run only when asked" in skipped.stdout
        assert not apps.read_namespaced_deployment("mcp-context", demo.namespace).spec.paused

        # The partial-failure steps alone, stopping before recovery: isolation and routing.
        result = run_release(
            demo.target_file,
            tmp_path / "r1",
            "-m",
            "emergency",
            "--service",
            "mcp-context",
            "--execute",
            "-k",
            "not Gradual and not gradual",
        )
        assert result.returncode == 0, result.stdout[-3000:]
        deployments = apps.list_namespaced_deployment(demo.namespace).items
        assert all(d.spec.paused for d in deployments)
        isolated = apps.read_namespaced_deployment("mcp-context", demo.namespace)
        assert isolated.spec.replicas == 0 and not isolated.status.replicas
        service = core.read_namespaced_service("mcp-context", demo.namespace)
        assert service.spec.selector == {"app": "maintenance"}

        recovered = run_release(
            demo.target_file,
            tmp_path / "r2",
            "-m",
            "emergency",
            "--service",
            "mcp-context",
            "--execute",
            "-k",
            "gradual",
        )
        assert recovered.returncode == 0, recovered.stdout[-3000:]
        back = apps.read_namespaced_deployment("mcp-context", demo.namespace)
        assert back.spec.replicas == 2 and back.status.available_replicas == 2
        assert not back.spec.paused
        service = core.read_namespaced_service("mcp-context", demo.namespace)
        assert service.spec.selector == {"app": "mcp-context"}
