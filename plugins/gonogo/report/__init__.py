"""The reports an approver and a CI system read: HTML (pytest-html), the
filled-in checklist Markdown, Allure results and JUnit XML — all redacted.

``configure(config)`` is called once from the core plugin's
``pytest_configure`` (before pytest-html and junitxml configure themselves)
and registers, per process:

* everywhere tests run: the redaction of reports and logs, the record of
  deselected checks, and the Allure labels (with ``--alluredir``);
* where reports are written (never on an xdist worker): the pytest-html
  glue and the writers of ``checklist.md``, the JUnit renaming and the Allure
  redaction.

With a ``--target`` and no ``--html``/``--junitxml`` of the user's, the HTML
report goes to ``<reports>/gonogo.html`` (self-contained) and the JUnit XML
to ``<reports>/junit-<env>.xml`` (``junit.xml`` without ``--env``).

Reports are written only once a run has started: gonogo's own usage errors
end ``pytest_configure`` before any writer is set up, and a usage error met
while collecting (a bad ``-m`` expression, say) withdraws the writers before
pytest finishes the session, so no empty report overwrites a real one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gonogo.engine.markers import BINDING_KEY, environments_of
from gonogo.engine.runlog import runlog_of
from gonogo.engine.settings import Settings, get_settings
from gonogo.report.model import DESELECTED_EVENT
from gonogo.report.scrub import Scrubber

CSS_FILE = Path(__file__).with_name("gonogo.css")
HTML_NAME = "gonogo.html"
JUNIT_NAME = "junit.xml"
MARKDOWN_NAME = "checklist.md"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _collects(config: pytest.Config) -> bool:
    """True in the process that collects and runs the tests."""
    return _is_worker(config) or getattr(config.option, "dist", "no") == "no"


def configure(config: pytest.Config) -> None:
    settings = get_settings(config)
    scrubber = Scrubber()
    scrubber.install_log_redaction()
    config.pluginmanager.register(scrubber, "gonogo-scrubber")
    if _collects(config):
        config.pluginmanager.register(DeselectionRecorder(config, settings), "gonogo-deselected")
        if getattr(config.option, "allure_report_dir", None):
            from gonogo.report.allure import AllureGlue

            config.pluginmanager.register(AllureGlue(), "gonogo-allure")
    if _is_worker(config) or settings.list_checklist:
        return
    if settings.targets:
        _default_outputs(config, settings)
    if getattr(config.option, "htmlpath", None):
        css = list(getattr(config.option, "css", None) or [])
        if str(CSS_FILE) not in css:
            config.option.css = [*css, str(CSS_FILE)]
        from gonogo.report.html import HtmlReport

        config.pluginmanager.register(HtmlReport(config), "gonogo-html")
    config.pluginmanager.register(Writers(config, settings), "gonogo-writers")
    config.pluginmanager.register(UsageErrorGuard(config), "gonogo-usage-guard")


WRITER_MODULES: tuple[str, ...] = ("_pytest.junitxml", "pytest_html.")
"""Where the JUnit and HTML writers' classes live; pytest registers them unnamed."""


class UsageErrorGuard:
    """Withdraws every report writer when collection, or the refusal before
    the first check, ends in a usage error: pytest still finishes the session
    then, and each writer would write its file for a run that never started."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.withdrawn: list[object] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        except pytest.UsageError:
            self.withdraw()
            raise

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        """A refusal before the first check (the account lacks a permission)
        is a usage error too: nothing ran, so nothing is reported."""
        try:
            return (yield)
        except pytest.UsageError:
            self.withdraw()
            raise

    def withdraw(self) -> None:
        manager = self.config.pluginmanager
        for plugin in list(manager.get_plugins()):
            name = manager.get_name(plugin) or ""
            module = type(plugin).__module__
            if name in ("gonogo-html", "gonogo-writers"):
                manager.unregister(plugin)
            elif module.startswith(WRITER_MODULES):
                manager.unregister(plugin)
                self.withdrawn.append(plugin)

    @pytest.hookimpl(tryfirst=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Put the withdrawn writers back, idle, for their own plugins to
        unregister as they always do (junitxml insists on it)."""
        for plugin in self.withdrawn:
            config.pluginmanager.register(plugin)
        self.withdrawn.clear()


def _default_outputs(config: pytest.Config, settings: Settings) -> None:
    option = config.option
    if hasattr(option, "htmlpath") and not option.htmlpath:
        option.htmlpath = str(settings.reports_dir / HTML_NAME)
        option.self_contained_html = True
    if hasattr(option, "xmlpath") and not option.xmlpath:
        # One file per environment: the next run's "Regression testing" reads
        # the previous run's results for its environment from there.
        name = f"junit-{settings.environment}.xml" if settings.environment else JUNIT_NAME
        option.xmlpath = str(settings.reports_dir / name)


class DeselectionRecorder:
    """Records each deselected bound check in the run log, with why, so the
    reports can tell "not applicable here" (another environment) from "not
    run" (not selected). Under xdist the run log travels to the controller."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        runlog = runlog_of(self.config)
        env = self.settings.environment
        for item in items:
            binding = item.stash.get(BINDING_KEY, None)
            if binding is None:
                continue
            envs = environments_of(item)
            why = "env" if env is not None and envs is not None and env not in envs else "selection"
            runlog.add(
                DESELECTED_EVENT,
                target=binding.target_id,
                index=binding.item.index,
                nodeid=item.nodeid,
                why=why,
            )


class Writers:
    """Writes checklist.md and finishes the JUnit and Allure files, on the controller."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.started = time.time()
        self.written: list[Path] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from gonogo.report.context import record_evidence

        record_evidence(self.config, report)

    @pytest.hookimpl
    def pytest_gonogo_verdict(self, verdict: Any, config: pytest.Config) -> None:
        from gonogo.report import markdown
        from gonogo.report.context import run_view

        self._finish_junit(verdict)
        view = run_view(config, verdict)
        if view is None or view.checklist_path is None:
            return
        html = getattr(config.option, "htmlpath", None)
        out = markdown.write(
            view,
            view.checklist_path,
            self.settings.reports_dir / MARKDOWN_NAME,
            Path(html) if html else None,
        )
        self.written.append(out)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """junitxml wrote its file in its own (earlier) sessionfinish; rename
        and redact it. Redact what Allure wrote during the run."""
        self._finish_junit(None)
        alluredir = getattr(self.config.option, "allure_report_dir", None)
        if alluredir:
            from gonogo.report.allure import redact_results

            redact_results(Path(alluredir), self.started)

    def _finish_junit(self, verdict: Any) -> None:
        """Once per run: with the verdict when there is one (pytest's junitxml
        has written its file by the time the verdict is made)."""
        xmlpath = getattr(self.config.option, "xmlpath", None)
        if not xmlpath or Path(xmlpath) in self.written or not Path(xmlpath).is_file():
            return
        from gonogo.report.junit import rename_testcases

        rename_testcases(Path(xmlpath), verdict)
        self.written.append(Path(xmlpath))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for path in self.written:
            terminalreporter.write_line(f"gonogo: wrote {path}")
