"""Load on workers started elsewhere: the options, the locustfile Locust's own
workers run, and a master that waits for them, bounded.

Nothing here needs the sandbox: the runs go to a small HTTP server on loopback
and the workers are ``locust --worker`` processes on this machine."""

from __future__ import annotations

import ast
import contextlib
import http.server
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from gonogo.errors import ProbeError
from gonogo.integrations.load.launch import LOCUSTFILE, RemoteWorkers, free_port, run_load
from gonogo.integrations.load.spec import LoadSpec

from tests.support.local_http import serving, url_of

# --------------------------------------------------------------------------- #
# Options
# --------------------------------------------------------------------------- #

BIND = ("--load-master-bind", "127.0.0.1:5557")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--load-master-bind", "nope", "--load-expect-workers", "2"), "*'nope': give HOST:PORT*"),
        (("--load-master-bind", "host:0", "--load-expect-workers", "2"), "*port from 1 to 65535*"),
        (("--load-master-bind", "h:70000", "--load-expect-workers", "2"), "*'h:70000': give*"),
        (
            ("--load-master-bind", ":5557", "--load-expect-workers", "2"),
            "*':5557': give HOST:PORT*",
        ),
        (("--load-master-bind", "a:b:5557", "--load-expect-workers", "2"), "*'a:b:5557'*"),
        (("--load-master-bind", "host:port", "--load-expect-workers", "2"), "*'host:port'*"),
        ((*BIND, "--load-expect-workers", "0"), "*--load-expect-workers '0': * 1 or more*"),
        ((*BIND, "--load-expect-workers", "-2"), "*--load-expect-workers '-2': * 1 or more*"),
        (
            (*BIND, "--load-expect-workers", "2", "--load-workers", "2"),
            "*--load-workers and --load-expect-workers both given; use --load-workers N for "
            "workers on this machine or --load-master-bind HOST:PORT --load-expect-workers N*",
        ),
        (("--load-expect-workers", "2"), "*--load-expect-workers needs --load-master-bind*"),
        (BIND, "*--load-master-bind needs --load-expect-workers N*"),
        ((*BIND, "--load-workers", "3"), "*--load-master-bind needs --load-expect-workers N*"),
    ],
)
def test_bad_distributed_load_options_are_one_line_usage_errors(
    project: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    result = project.runpytest(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    assert "Traceback" not in result.stderr.str()


def test_distributed_load_options_reach_the_settings(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_settings=textwrap.dedent(
            """\
            from gonogo.engine.settings import get_settings

            def test_it(pytestconfig):
                settings = get_settings(pytestconfig)
                assert settings.load_master_bind == ("0.0.0.0", 5557)
                assert settings.load_expect_workers == 3
                assert settings.load_workers == 0
            """
        )
    )
    result = project.runpytest(
        "--load-master-bind", "0.0.0.0:5557", "--load-expect-workers", "3", "test_settings.py"
    )
    result.assert_outcomes(passed=1)


# --------------------------------------------------------------------------- #
# The locustfile
# --------------------------------------------------------------------------- #


def test_the_locustfile_needs_only_locust_and_prints_its_path() -> None:
    """A worker without gonogo runs it (or downloads it from the master)."""
    printed = subprocess.run(
        [sys.executable, "-m", "gonogo.integrations.load.locustfile", "--print-path"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert Path(printed) == LOCUSTFILE and LOCUSTFILE.is_file()

    imported: set[str] = set()
    for node in ast.walk(ast.parse(LOCUSTFILE.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"locust"}


def test_the_worker_command_names_the_address_a_worker_joins() -> None:
    local = RemoteWorkers("127.0.0.1", 5557, 2)
    assert local.worker_command() == (
        f"locust --worker --master-host 127.0.0.1 --master-port 5557 -f {LOCUSTFILE}"
    )
    anywhere = RemoteWorkers("0.0.0.0", 6000, 4)
    assert "--master-host MASTER_ADDRESS --master-port 6000" in anywhere.worker_command()
    with pytest.raises(ValueError, match="expected >= 1"):
        RemoteWorkers("127.0.0.1", 5557, 0)


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #


class _Counting(http.server.BaseHTTPRequestHandler):
    """Answers 200 and counts every request, as the system under load would."""

    count = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            type(self).count += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[str]:
    _Counting.count = 0
    with serving(_Counting) as httpd:
        yield url_of(httpd)


def _spec(base_url: str, duration_s: float = 3) -> LoadSpec:
    return LoadSpec(
        base_url=base_url,
        users=4,
        spawn_rate=4,
        duration_s=duration_s,
        paths={"/steady/health": 2, "/other/health": 1},
        wait_min_s=0.01,
        wait_max_s=0.03,
    )


def test_workers_that_do_not_come_fail_in_one_line_naming_the_command(
    counting_server: str, tmp_path: Path
) -> None:
    remote = RemoteWorkers("127.0.0.1", free_port(), 2, join_timeout_s=2)
    said: list[str] = []
    started = time.monotonic()

    with pytest.raises(ProbeError) as failure:
        run_load(_spec(counting_server), tmp_path, remote=remote, on_status=said.append)

    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(
        f"only 0 of 2 load workers joined the master at {remote.bind} within 2 s; start each "
        f"with: locust --worker --master-host 127.0.0.1 --master-port {remote.port} "
        f"-f {LOCUSTFILE}"
    ), message
    assert said and said[0].startswith(f"waiting for load workers: 0 of 2 joined {remote.bind}")
    assert time.monotonic() - started < 20
    assert _Counting.count == 0


def _locust_worker(port: int, locustfile: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = ["locust", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return subprocess.Popen(
        [*command, "-f", locustfile], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def test_locust_workers_started_elsewhere_run_the_profile_and_every_request_counts(
    counting_server: str, tmp_path: Path
) -> None:
    """Two ``locust --worker`` processes, one given gonogo's locustfile and one
    downloading it from the master (``-f -``): the master's total is the sum of
    what each worker did, and what the server answered."""
    remote = RemoteWorkers("127.0.0.1", free_port(), 2, join_timeout_s=30)
    said: list[str] = []
    workers: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / "w0.log", tmp_path / "w1.log"]

    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(log.open("wb")) for log in logs]

        def join_when_waiting(line: str) -> None:
            said.append(line)
            if not workers:
                workers.append(_locust_worker(remote.port, str(LOCUSTFILE), files[0]))
                workers.append(_locust_worker(remote.port, "-", files[1]))

        try:
            result = run_load(
                _spec(counting_server), tmp_path / "run", remote=remote, on_status=join_when_waiting
            )
            codes = [worker.wait(timeout=20) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(timeout=10)

    assert codes == [0, 0], [log.read_text()[-800:] for log in logs]
    assert len(result.workers) == 2 and all(n > 0 for n in result.workers.values()), result
    assert result.requests == sum(result.workers.values())
    # at most one request per user was cut off in flight when the run stopped
    assert 0 <= _Counting.count - result.requests <= 4, (_Counting.count, result.requests)
    assert result.failures == 0
    assert {e["name"] for e in result.endpoints} == {"/steady/health", "/other/health"}
    assert said[-1].startswith(f"waiting for load workers: 2 of 2 joined {remote.bind}")
