"""Stopping a run on Ctrl-C or SIGTERM: within seconds, with a verdict and reports.

pytest turns Ctrl-C into ``KeyboardInterrupt`` and still finishes its reports,
but SIGTERM — what a CI system sends when a job is cancelled — ends Python at
once, with no verdict and no report. The guard makes both signals the same
interruption, remembers which one came (the verdict names it), and, once the
reports are written, leaves without waiting for threads still stuck in a
network call: the interpreter would otherwise join them at exit, for as long
as their timeouts allow. A second signal leaves at once.

Under pytest-xdist the controller does not stop itself first: it passes the
signal on to its workers as SIGINT, so each stops inside its running check
and sends its last reports home, and the controller's verdict names what was
really running. Should a worker not finish within ``WORKER_GRACE_S``, the
controller stops anyway and ends the workers.

Installed only when the run's process owns its main thread, and the early exit
happens only after a real signal, so in-process runs (pytester) are untouched.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Generator
from types import FrameType
from typing import Any

import pytest

SIGNALS = (signal.SIGINT, signal.SIGTERM)
WORKER_GRACE_S = 3.0
"""How long an xdist controller waits for its workers to stop on a signal."""


class InterruptGuard:
    """Turns SIGINT and SIGTERM into one interruption of the run."""

    def __init__(self, *, forwards_to_workers: bool = False) -> None:
        self.signal_name: str | None = None
        self.exitstatus: int = int(pytest.ExitCode.INTERRUPTED)
        self.forwards_to_workers = forwards_to_workers
        self.dsession: Any = None
        """pytest-xdist's controller session, once it is registered."""
        self._escalate = False
        self._loop_done = threading.Event()
        self._signalled_at = 0.0
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
        if self._escalate:
            self._escalate = False
            raise KeyboardInterrupt
        if self.signal_name is not None:
            sys.stderr.write(f"\ngonogo: {signal.Signals(signum).name} again: leaving now\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        self.signal_name = signal.Signals(signum).name
        self._signalled_at = time.monotonic()
        sys.stderr.write(
            f"\ngonogo: {self.signal_name}: stopping the run, writing the verdict and reports "
            "(send it again to leave at once)\n"
        )
        sys.stderr.flush()
        if self.forwards_to_workers and self._stop_workers():
            threading.Thread(target=self._stop_if_workers_linger, daemon=True).start()
            return
        raise KeyboardInterrupt

    def _stop_workers(self) -> bool:
        """Ask every xdist worker to stop inside its running check; False when
        there is none to ask. A worker stopped this way is not a crash to
        replace with a fresh worker, so xdist is told to start none."""
        if self.dsession is not None and hasattr(self.dsession, "_max_worker_restart"):
            self.dsession._max_worker_restart = 0
        return _signal_workers(signal.SIGINT)

    def _stop_if_workers_linger(self) -> None:
        """Past the grace time, stop the controller's test loop even if a worker
        has not answered; after the loop, the workers are ended (see below)."""
        if self._loop_done.wait(WORKER_GRACE_S):
            return
        self._escalate = True
        _thread.interrupt_main()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            self._loop_done.set()
            self._escalate = False
            if self.signal_name is not None and self.forwards_to_workers:
                _end_workers(deadline=self._signalled_at + WORKER_GRACE_S)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.forwards_to_workers:
            self.dsession = session.config.pluginmanager.getplugin("dsession")

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
        if self.forwards_to_workers:
            _signal_workers(signal.SIGKILL)
        os._exit(code)


def _end_workers(deadline: float) -> None:
    """Give the workers until ``deadline`` to exit on their own, then kill
    them: the controller reads nothing more from them after its loop."""
    import psutil

    children = psutil.Process().children()
    _, alive = psutil.wait_procs(children, timeout=max(0.0, deadline - time.monotonic()))
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _signal_workers(sig: int) -> bool:
    """Send ``sig`` to this process's children (an xdist controller's workers);
    False when there are none."""
    import psutil

    children = psutil.Process().children()
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.send_signal(sig)
    return bool(children)


GUARD_KEY = pytest.StashKey[InterruptGuard]()


def install(config: pytest.Config) -> None:
    controller = not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"
    guard = InterruptGuard(forwards_to_workers=controller)
    if guard.install():
        config.stash[GUARD_KEY] = guard
        config.pluginmanager.register(guard, "gonogo-interrupts")


def interrupt_signal(config: pytest.Config) -> str | None:
    """The signal that interrupted the run, if one did."""
    guard = config.stash.get(GUARD_KEY, None)
    return guard.signal_name if guard is not None else None
