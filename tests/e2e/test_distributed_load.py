"""Load on Locust workers started elsewhere, against the sandbox: two
``locust --worker`` processes join gonogo's master over loopback, and what the
result counts is what the demo services answered.

The demo system runs in a namespace of its own, so the sandbox's HTTP mirror
counts, for that namespace, only this test's requests: its
``http_requests_total`` is the witness the load runner does not control."""

from __future__ import annotations

import contextlib
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import yaml
from gonogo.integrations.load.launch import LOCUSTFILE, RemoteWorkers, free_port, run_load
from gonogo.integrations.load.spec import LoadSpec
from gonogo_sandbox.config import SandboxConfig

from tests.support.demo_system import DemoSystem, demo_system
from tests.support.suite_runner import SUITES, environment, run_pytest, sandbox_tokens

PROFILE = "baseline"
SERIES = re.compile(r"^http_requests_total\{([^}]*)\} (\d+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def demo(
    sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoSystem]:
    with demo_system(tmp_path_factory.mktemp("dist-load"), "dist-load") as system:
        yield system


def answered(demo: DemoSystem) -> int:
    """Requests the mirror answered for the demo's namespace, every service and code."""
    with urllib.request.urlopen(f"{demo.cfg.url('demo')}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0
    for labels, count in SERIES.findall(text):
        if f'namespace="{demo.namespace}"' in labels.split(","):
            total += int(count)
    return total


@contextlib.contextmanager
def locust_workers(port: int, logs: list[Path]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Locust's own workers on this machine, one per log, given gonogo's
    locustfile (the first) or downloading it from the master (the rest).
    Started before the master: a worker keeps trying to join for minutes."""
    with contextlib.ExitStack() as stack:
        files: list[IO[bytes]] = [stack.enter_context(log.open("wb")) for log in logs]
        command = ["locust", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
        workers = [
            subprocess.Popen(
                [*command, "-f", str(LOCUSTFILE) if index == 0 else "-"],
                stdout=file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            for index, file in enumerate(files)
        ]
        try:
            yield workers
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(timeout=10)
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(timeout=10)


def _spec(demo: DemoSystem) -> LoadSpec:
    """The target's baseline profile, as the load_run fixture builds it."""
    target = yaml.safe_load(demo.target_file.read_text())
    profile = target["environments"]["production"]["load_profiles"][PROFILE]
    return LoadSpec(
        base_url=demo.base_url,
        users=int(profile["users"]),
        spawn_rate=float(profile["spawn_rate"]),
        duration_s=float(profile["duration_s"]),
        paths=dict(profile["paths"]),
        wait_min_s=0.05,
        wait_max_s=0.2,
    )


def test_every_workers_requests_are_counted(demo: DemoSystem, tmp_path: Path) -> None:
    remote = RemoteWorkers("127.0.0.1", free_port(), 2, join_timeout_s=30)
    logs = [tmp_path / "worker-0.log", tmp_path / "worker-1.log"]
    said: list[str] = []
    before = answered(demo)

    spec = _spec(demo)

    with locust_workers(remote.port, logs) as workers:
        result = run_load(spec, tmp_path / "run", remote=remote, on_status=said.append)
        codes = [worker.wait(timeout=20) for worker in workers]

    served = answered(demo) - before
    assert codes == [0, 0], [log.read_text()[-800:] for log in logs]
    assert len(result.workers) == 2, (result.workers, said)
    assert all(count > 0 for count in result.workers.values()), result.workers
    assert result.requests == sum(result.workers.values()), result.workers
    # A user stopped at the end of the run may be killed with its last request
    # in flight: the service answered it, Locust never recorded it. At most
    # one such request per user.
    assert 0 <= served - result.requests <= spec.users, (result.workers, served)
    assert result.error_rate == 0.0, result.errors
    assert {e["name"] for e in result.endpoints} == set(spec.paths)


def test_a_load_check_runs_on_remote_workers(demo: DemoSystem, tmp_path: Path) -> None:
    """The user's way: the options on a pytest run of the load check."""
    port = free_port()
    with locust_workers(port, [tmp_path / "worker-0.log", tmp_path / "worker-1.log"]):
        done = run_pytest(
            str(SUITES),
            "--target",
            str(demo.target_file),
            "--env",
            "production",
            "--reports-dir",
            str(tmp_path / "reports"),
            "-m",
            "postdeploy",
            "-k",
            f"load_{PROFILE}",
            "-rA",
            "--load-master-bind",
            f"127.0.0.1:{port}",
            "--load-expect-workers",
            "2",
            cwd=tmp_path,
            env=environment(sandbox_tokens(), without=("PYTHONWARNINGS",)),
            timeout=120,
        )

    assert "x2 remote workers] waiting for load workers" in done.stdout, done.stdout[-3000:]
    results = list((tmp_path / "reports" / "load").glob(f"load-*-{PROFILE}-*.json"))
    assert len(results) == 1, done.stdout[-3000:]
    assert yaml.safe_load(results[0].read_text())["requests"] > 0
