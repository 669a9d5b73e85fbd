"""One checklist run of the demo: ``python -m pytest`` in a fresh process, as
an operator or a CI job runs it, its output shown as it comes and kept in a
log, and its JUnit XML read back for what failed where.

The demo judges each run by its exit code and by the JUnit file the run
wrote, never by searching the output for words."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gonogo.engine.markers import BINDING_PROPERTY

RUN_TIMEOUT_S = 900.0
TIMED_OUT = 124
"""A run still going after this long is stopped and counts as failed: the
longest demo run (the release with its post-deploy validation) takes a few
minutes on a two-core machine."""

MARKDOWN_NAME = "checklist.md"


@dataclass(frozen=True)
class Failure:
    """A check that failed (or errored) in a run, as its JUnit test case says."""

    stage: str
    phase: str
    title: str
    message: str

    @property
    def where(self) -> str:
        """``stage › phase › item``, the parts the run named."""
        return " › ".join(part for part in (self.stage, self.phase, self.title) if part)


@dataclass
class RunResult:
    """How one pytest run ended and where its reports are."""

    name: str
    code: int
    log: Path
    junit: Path | None
    html: Path
    failures: list[Failure] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return self.code == 0

    @property
    def word(self) -> str:
        """GO, NO-GO, or what else the exit code means."""
        if self.code == TIMED_OUT:
            return "STOPPED (timeout)"
        return {0: "GO", 1: "NO-GO"}.get(self.code, f"ERROR (exit {self.code})")


def read_failures(junit: Path) -> list[Failure]:
    """The failed and errored test cases of a gonogo JUnit file, in file order,
    with the checklist binding gonogo stores in each case's properties."""
    failures = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            continue
        binding: dict[str, object] = {}
        for prop in case.findall("properties/property"):
            if prop.get("name") == BINDING_PROPERTY:
                binding = json.loads(prop.get("value") or "{}")
        message = (bad.get("message") or bad.text or "").strip().splitlines()
        if message:
            message[0] = message[0].removeprefix("AssertionError: ")
        title = str(binding.get("title") or case.get("name") or "")
        if binding.get("service"):
            title += f" [{binding['service']}]"
        failures.append(
            Failure(
                stage=str(binding.get("stage") or case.get("classname") or ""),
                phase=str(binding.get("phase") or ""),
                title=title,
                message=message[0] if message else "",
            )
        )
    return failures


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def run_checklist(
    name: str,
    args: Sequence[str],
    *,
    target: Path,
    environment: str,
    reports: Path,
    signoffs: Path,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float = RUN_TIMEOUT_S,
) -> RunResult:
    """Run the checklist suites with ``args`` against ``target`` in
    ``environment``; reports go to ``reports`` under ``name``.

    The run's JUnit XML goes where gonogo puts it by default,
    ``<reports>/junit-<environment>.xml``, and is copied to ``<name>.xml``."""
    html = reports / f"{name}.html"
    log = reports / f"{name}.log"
    default_junit = reports / f"junit-{environment}.xml"
    command = [
        sys.executable, "-m", "pytest", "suites",
        "--target", str(target), "--env", environment, *args,
        "--signoffs", str(signoffs), "--reports-dir", str(reports),
        f"--html={html}", "--self-contained-html", "-p", "no:cacheprovider",
    ]  # fmt: skip
    print("$ " + " ".join(command[2:]), flush=True)
    before = _signature(default_junit)
    code = _tee(command, cwd=cwd, env=env, log=log, timeout_s=timeout_s)
    junit = None
    failures: list[Failure] = []
    after = _signature(default_junit)
    if after is not None and after != before:
        junit = reports / f"{name}.xml"
        shutil.copyfile(default_junit, junit)
        failures = read_failures(junit)
    markdown = reports / MARKDOWN_NAME
    if markdown.exists():
        markdown.replace(reports / f"{name}-checklist.md")
    return RunResult(name, code, log, junit, html, failures)


def _tee(
    command: list[str], *, cwd: Path, env: Mapping[str, str], log: Path, timeout_s: float
) -> int:
    """Run ``command``, copying its output to our stdout and to ``log`` as it
    comes; stop it after ``timeout_s`` (exit code ``TIMED_OUT`` then)."""
    stopped = threading.Event()
    with open(log, "wb") as kept:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

        def stop() -> None:
            stopped.set()
            process.kill()

        timer = threading.Timer(timeout_s, stop)
        timer.start()
        try:
            stream = process.stdout
            assert stream is not None
            for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
                kept.write(chunk)
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
    if stopped.is_set():
        print(f"\ngonogo demo: run stopped after {timeout_s:.0f} s; see {log}", flush=True)
        return TIMED_OUT
    return code
