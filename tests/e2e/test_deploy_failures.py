"""A deploy that must stop: a Deployment that can never become available
stops at its phase, and ``--rollback=auto`` returns every changed Deployment
to v1.0.0 in reverse dependency order. (An image missing from the registry,
which stops the deploy at Phase 2 before anything changes, is a row of the
fault matrix, test_fault_matrix.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.support.demo_system import (
    RELEASE_SERVICES,
    demo_system,
    never_available,
    release_with,
    versions,
)
from tests.support.suite_runner import run_release


def test_unavailable_deployment_is_rolled_back_in_reverse_order(
    sandbox_running: object, tmp_path: Path
) -> None:
    broken = release_with(tmp_path, "sophia-dashboard", never_available)
    with demo_system(tmp_path, "broken", overrides={"manifests_dir": str(broken)}) as demo:
        result = run_release(
            demo.target_file, tmp_path / "reports", "-m", "deploy", "--execute", "--rollback=auto"
        )
        out = result.stdout
        assert result.returncode == 1, out[-3000:]
        assert "NO-GO — Phase 5 (T-5) failed" in out
        assert "ProgressDeadlineExceeded" in out, out[-5000:]
        order = [
            line.split(":")[0].strip()
            for line in out.splitlines()
            if line.strip().startswith("deployment/") and "revision" in line
        ]
        assert order[:2] == ["deployment/sophia-business", "deployment/sophia-dashboard"], out[
            -3000:
        ]
        assert order.index("deployment/mcp-agents") < order.index("deployment/redis")
        assert "rolled back" in out
        now = versions(demo)
        tags = {name: now[name][0] for name in RELEASE_SERVICES}
        assert set(tags.values()) == {"v1.0.0"}, tags
