"""Run gonogo the way a new user does and judge how it fails.

Every case of the bad-input matrix is a real command (``pytest …`` against the
repository's suites, or ``gonogo …``) run in a process of its own, with a
canary secret in its environment. A clean failure is: the expected exit code,
a message that names the file/line or option and a fix, no Python traceback,
and the canary nowhere — not in the output and not in any file the run wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.suite_runner import REPO as ROOT
from tests.support.suite_runner import environment, gonogo_command, pytest_command
from tests.support.suite_runner import run as run_command

CHECKLIST = ROOT / "docs" / "checklists.md"
SANDBOX_TARGET = ROOT / "targets" / "sandbox.yaml"

CANARY = "canary-s3cr3t-7f3a9c1e"
"""A secret value no output or report may ever contain."""

CANARY_ENV = {
    "GONOGO_CANARY_TOKEN": CANARY,
    "GITHUB_TOKEN": CANARY,
    "REDIS_PASSWORD": CANARY,
    "HUBSPOT_API_KEY": CANARY,
}

TRACEBACK_MARKS = (
    "Traceback (most recent call last)",
    "INTERNALERROR",
    "_pytest/",
    "site-packages/",
)


@dataclass
class Outcome:
    """What one command did: exit code, output, seconds, and where it wrote."""

    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    reports: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def written_text(self) -> str:
        """Everything the run wrote under its reports folder, as text."""
        parts = []
        if self.reports.exists():
            for path in sorted(self.reports.rglob("*")):
                if path.is_file():
                    parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)


def run(
    args: list[str],
    tmp_path: Path,
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    reports: bool = True,
) -> Outcome:
    """Run ``args`` (``pytest …`` or ``gonogo …``) with the canary set.

    ``pytest`` runs as ``python -m pytest`` from the repository (its ini file is
    what a user of this checkout gets), with the cache off and its reports in
    ``tmp_path/reports`` so no case leaves state behind or reads another's.
    The kubeconfig points nowhere unless ``env`` says otherwise."""
    reports_dir = tmp_path / "reports"
    command = list(args)
    if command[0] == "pytest":
        command = pytest_command(*command[1:])
        if reports and not any(a.startswith("--reports-dir") for a in command):
            command += ["--reports-dir", str(reports_dir)]
    elif command[0] == "gonogo":
        command = gonogo_command(*command[1:])
    full_env = environment(
        {
            "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
            "COLUMNS": "200",
            "PYTHONDONTWRITEBYTECODE": "1",
            **CANARY_ENV,
            **(env or {}),
        }
    )
    done = run_command(command, cwd=cwd, env=full_env, timeout=timeout)
    return Outcome(
        args=list(args),
        exit_code=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        seconds=done.seconds,
        reports=reports_dir,
    )


def assert_clean_failure(
    outcome: Outcome,
    *,
    exit_code: int,
    mentions: tuple[str, ...] = (),
    max_seconds: float | None = None,
) -> None:
    """The run failed the way the README promises: ``exit_code``, a message
    containing every string of ``mentions`` (the file, line, option, the fix),
    no traceback, no canary anywhere, and within ``max_seconds`` if given."""
    shown = f"{' '.join(outcome.args)} (exit {outcome.exit_code}):\n{outcome.output[-4000:]}"
    assert outcome.exit_code == exit_code, f"expected exit {exit_code}; {shown}"
    for text in mentions:
        assert text in outcome.output, f"message does not mention {text!r}; {shown}"
    for mark in TRACEBACK_MARKS:
        assert mark not in outcome.output, f"a traceback ({mark!r}) was printed; {shown}"
    assert_no_canary(outcome)
    if max_seconds is not None:
        assert outcome.seconds < max_seconds, (
            f"took {outcome.seconds:.1f} s, bound {max_seconds} s; {shown}"
        )


def assert_no_canary(outcome: Outcome) -> None:
    """The canary secret is in no output and no file the run wrote."""
    assert CANARY not in outcome.output, (
        f"the canary secret leaked into the output of {outcome.args}"
    )
    assert CANARY not in outcome.written_text(), (
        f"the canary secret leaked into a file under {outcome.reports}"
    )
