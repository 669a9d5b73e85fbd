"""Stopping a run on Ctrl-C or SIGTERM: within seconds, with a verdict and reports.

pytest turns Ctrl-C into ``KeyboardInterrupt`` and still finishes its reports,
but SIGTERM — what a CI system sends when a job is cancelled — ends Python at
once, with no verdict and no report. The guard makes both signals the same
interruption, remembers which one came (the verdict names it), and, once the
reports are written, leaves without waiting for threads still stuck in a
network call: the interpreter would otherwise join them at exit, for as long
as their timeouts allow. A second signal leaves at once.

Installed only when the run's process owns its main thread, and the early exit
happens only after a real signal, so in-process runs (pytester) are untouched.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InterruptGuard:
    """Turns SIGINT and SIGTERM into one interruption of the run."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.exitstatus: int = int(pytest.ExitCode.INTERRUPTED)
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal_name is not None:
            sys.stderr.write(f"\ngonogo: {signal.Signals(signum).name} again: leaving now\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        self.signal_name = signal.Signals(signum).name
        sys.stderr.write(
            f"\ngonogo: {self.signal_name}: stopping the run, writing the verdict and reports "
            "(send it again to leave at once)\n"
        )
        sys.stderr.flush()
        raise KeyboardInterrupt

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.exitstatus = int(session.exitstatus)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()
        if self.signal_name is None:
            return
        # Reports are written; threads stuck in a network call must not hold the exit.
        sys.stdout.flush()
        sys.stderr.flush()
        code = self.exitstatus
        if code == pytest.ExitCode.OK:
            code = int(pytest.ExitCode.INTERRUPTED)
        os._exit(code)


GUARD_KEY = pytest.StashKey[InterruptGuard]()


def install(config: pytest.Config) -> None:
    guard = InterruptGuard()
    if guard.install():
        config.stash[GUARD_KEY] = guard
        config.pluginmanager.register(guard, "gonogo-interrupts")


def interrupt_signal(config: pytest.Config) -> str | None:
    """The signal that interrupted the run, if one did."""
    guard = config.stash.get(GUARD_KEY, None)
    return guard.signal_name if guard is not None else None
