"""Running gonogo in a process of its own, the way a user does, and reading
what came out.

Every test (and the benchmarks) that runs ``python -m pytest`` on the
repository's suites, or a ``gonogo`` command, goes through ``run``: one place
decides the interpreter, the environment, the working directory, the timeout
and how the output is captured, so two tests of the same command cannot run
it differently by accident. A run that outlives its timeout fails the test
with the command and the end of its output, not with a bare
``TimeoutExpired``.

The parsers at the bottom read what a run printed: the per-test outcomes of
the ``-rA`` summary, a failure's message, the verdict line and pytest's
closing counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gonogo_sandbox.services.fakes import github as github_fake
from gonogo_sandbox.services.fakes import hubspot as hubspot_fake

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "suites"
PYPROJECT = REPO / "pyproject.toml"


@dataclass(frozen=True)
class Finished:
    """One finished command: what it was, its exit code, output and wall time."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        """stdout, then stderr: everything the user saw."""
        return self.stdout + self.stderr

    def outcomes(self) -> dict[str, str]:
        return outcomes(self.output)


def environment(
    overrides: Mapping[str, str] | None = None, *, without: Iterable[str] = ()
) -> dict[str, str]:
    """This process's environment less the names in ``without``, with ``overrides``."""
    dropped = set(without)
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(overrides or {})
    return env


def run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float,
) -> Finished:
    """Run ``command`` in ``cwd`` with ``env`` (default: this process's), output
    captured as text; fail naming the command if it is still running after
    ``timeout`` seconds."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        raise AssertionError(
            f"{' '.join(command)} still running after {timeout:.0f} s; last output:\n{out[-3000:]}"
        ) from None
    return Finished(
        command=tuple(command),
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        seconds=time.perf_counter() - started,
    )


def pytest_command(*args: str) -> list[str]:
    """``python -m pytest`` with this interpreter and the cache off, so no run
    leaves state behind or reads another's."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def gonogo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gonogo", *args]


def run_pytest(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> Finished:
    return run(pytest_command(*args), cwd=cwd, env=env, timeout=timeout)


def run_gonogo(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> Finished:
    return run(gonogo_command(*args), cwd=cwd, env=env, timeout=timeout)


def sandbox_tokens() -> dict[str, str]:
    """The tokens the sandbox's fake GitHub and HubSpot accept, under the
    names the sandbox's targets read them from."""
    return {
        github_fake.TOKEN_ENV: github_fake.token(),
        hubspot_fake.TOKEN_ENV: hubspot_fake.token(),
    }


def sandbox_env() -> dict[str, str]:
    """The environment of a run against the sandbox: the fakes' tokens unless
    already set, and a wide terminal so summary lines are not cut."""
    return environment({**sandbox_tokens(), **os.environ, "COLUMNS": "300"})


def run_suite(*args: str, cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """pytest on the repository's suites from ``cwd``, with the repository's
    ini file and its reports in ``cwd/reports``: (exit code, output)."""
    done = run_pytest(
        "-q",
        "-rA",
        "--rootdir",
        str(REPO),
        "-c",
        str(PYPROJECT),
        "--reports-dir",
        str(cwd / "reports"),
        *args,
        cwd=cwd,
        env=sandbox_env(),
        timeout=timeout,
    )
    return done.returncode, done.output


def run_release(target: Path, reports: Path, *args: str, timeout: float = 900) -> Finished:
    """The production checklist against ``target`` as an operator types it in
    the repository (``pytest suites --target … --env production``), failures,
    errors and skips summed up at the end."""
    return run_pytest(
        "suites",
        "--target",
        str(target),
        "--env",
        "production",
        "--reports-dir",
        str(reports),
        "-q",
        "-rfEs",
        *args,
        cwd=REPO,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- #
# Reading the output
# --------------------------------------------------------------------------- #


def outcomes(output: str) -> dict[str, str]:
    """test function name -> PASSED/FAILED/SKIPPED/ERROR from the -rA summary."""
    found = {}
    for match in re.finditer(r"^(PASSED|FAILED|SKIPPED|ERROR) \S*::(test_\w+)", output, re.M):
        found[match.group(2)] = match.group(1)
    return found


def failure_message(output: str, test: str) -> str:
    """The short-summary line of a failed test (its message)."""
    for line in output.splitlines():
        if line.startswith("FAILED") and f"::{test}" in line:
            return line
    return ""


def failure_report(output: str, test: str) -> str:
    """The whole failure report of ``test`` on one line (the short summary
    line is cut to the terminal's width; this is not)."""
    match = re.search(rf"^_+ {test}\[.*?^(?=_{{5,}} |=+ )", output, re.M | re.S)
    assert match, output[-3000:]
    return " ".join(line.strip() for line in match.group(0).splitlines())


def verdict_lines(output: str) -> list[str]:
    """Every line that starts with GO or NO-GO; the last one is the verdict."""
    return [line for line in output.splitlines() if line.startswith(("GO", "NO-GO"))]


def closing_counts(output: str) -> str:
    """pytest's closing counts, e.g. "41 passed, 2 failed"."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1].strip("= ") if lines else "no summary"
