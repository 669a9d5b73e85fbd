"""The demo's four steps, in order, each a real checklist run in a fresh
process against the sandbox, all writing to one reports folder (so the
production gate finds staging's results and the release finds the gate's):

1. the staging release of v1.1.0 with its validation and load test;
2. production's backup and pre-deployment gate;
3. the production release v1.0.0 -> v1.1.0 with post-deployment validation,
   rolled back automatically if its criteria trip;
4. a faulty release candidate, v1.2.0, which post-deployment validation must
   catch and which must be rolled back for real.

Each step has an expected verdict; the demo checks what the cluster and the
services say after steps 3 and 4 itself, and exits 0 only when every step
ended as expected."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonogo.errors import GonogoError

from gonogo_sandbox.demo import candidate, system, targets, traffic
from gonogo_sandbox.demo.runs import RunResult, run_checklist
from gonogo_sandbox.demo.signoffs import write_demo_signoffs

MARKER = ".gonogo-demo"
"""Marks a reports folder the demo wrote, which the next demo may empty."""
POSTDEPLOY_STAGE = "Post-Deployment Validation"
REGRESSION_ITEM = "Regression testing"
NO_PREVIOUS_RUN = "no previous_release to compare this release with"
"""How the staging checklist's Regression testing fails for the baseline, the
first release staged: there is no earlier release's run to compare with."""


class DemoError(GonogoError):
    """The demo cannot start or go on; the message says why and what to do."""


@dataclass
class StepOutcome:
    """How one demo step ended against what it was expected to end as."""

    number: int
    title: str
    expected: str
    runs: list[RunResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the step did not end as expected (empty when it did)."""
    notes: list[str] = field(default_factory=list)
    """What the step showed: what caught the fault, what was rolled back."""

    @property
    def verdict(self) -> str:
        """The verdict of the step's last run (its main one; an earlier run
        that ends otherwise than expected stops the step there)."""
        return self.runs[-1].word if self.runs else "not run"

    @property
    def as_expected(self) -> bool:
        return bool(self.runs) and self.verdict == self.expected and not self.problems


def only_failure(run: RunResult, title: str, phrase: str) -> list[str]:
    """Why ``run`` is not NO-GO with ``title`` as its one failed check, whose
    message holds ``phrase``; empty when it is."""
    if run.code != 1:
        return [f"{run.name}: {run.word}, expected NO-GO at {title} only; see {run.log}"]
    others = [f for f in run.failures if not f.title.startswith(title)]
    mine = [f for f in run.failures if f.title.startswith(title)]
    problems = [f"{run.name}: {f.where}: {f.message}" for f in others[:3]]
    if not mine:
        problems.append(f"{run.name}: {title} did not fail; see {run.log}")
    elif phrase not in mine[0].message:
        problems.append(f"{run.name}: {title} failed otherwise than expected: {mine[0].message}")
    return problems


def prepare_reports(path: Path) -> Path:
    """An empty reports folder: new, empty, or one an earlier demo wrote
    (emptied). Any other non-empty folder is refused: the demo must not
    depend on, or delete, results it did not write."""
    path = path.resolve()
    if path.is_dir() and any(path.iterdir()):
        if not (path / MARKER).is_file():
            raise DemoError(
                f"{path} is not empty and was not written by 'gonogo demo'; the demo starts "
                "from no earlier results: pass a new or empty --reports-dir"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("written by 'gonogo demo'; the next demo here empties it\n")
    return path


class Demo:
    """One walk through the release process; ``run()`` returns the exit code."""

    def __init__(self, root: Path, reports: Path, cfg: Any) -> None:
        self.root = root
        self.reports = reports
        self.cfg = cfg
        self.target_file = root / "targets" / "sandbox.yaml"
        self.outcomes: list[StepOutcome] = []
        self.signoffs = reports / "signoffs.yaml"
        self.env: dict[str, str] = {}

    # -- the walk ------------------------------------------------------------ #

    def run(self) -> int:
        from gonogo.model.target import load_target

        from gonogo_sandbox import stack

        started = time.monotonic()
        target = load_target(self.target_file)
        self._banner("0", "sandbox up, demo system reset")
        system.ensure_up(self.cfg, print)
        with traffic.users(target, "production") as urls:
            print(
                f"users: a request to each of the {len(urls)} production services' health URL "
                "about twice a second while the demo runs (the sandbox has no users of its own)",
                flush=True,
            )
            start_point(self.cfg, target)
            self.env = {**os.environ, **stack.client_env(self.cfg)}
            baseline = (str(target.previous_release),)
            write_demo_signoffs(self.signoffs, target, staging_also=baseline)
            steps = (self._staging, self._gate, self._release, self._candidate)
            for number, step in enumerate(steps, 1):
                outcome = step(number, target)
                self.outcomes.append(outcome)
                judged = "as expected" if outcome.as_expected else "NOT as expected"
                print(
                    f"\n-> step {number} {outcome.title}: {outcome.verdict}, "
                    f"expected {outcome.expected}: {judged}",
                    flush=True,
                )
                for line in outcome.problems + outcome.notes:
                    print(f"   {line}", flush=True)
                if not outcome.as_expected:
                    break
        self._summary(time.monotonic() - started, steps)
        return 0 if self._all_as_expected(len(steps)) else 1

    def _staging(self, number: int, target: Any) -> StepOutcome:
        baseline = str(target.previous_release)
        outcome = StepOutcome(number, f"staging release of {target.release}", "GO")
        self._banner(
            f"{number}a",
            f"staging baseline: {baseline}, what production runs, through the staging "
            f"checklist, so that Regression testing of {target.release} has the previous "
            "release's staging run record to compare with. The baseline has no release before "
            "it, so its own Regression testing has nothing to compare and fails closed: "
            "expected NO-GO at Regression testing only",
        )
        baseline_target = targets.write_copy(
            self.target_file,
            self.reports / f"baseline-{baseline}" / "target.yaml",
            {
                "release": baseline,
                "previous_release": None,
                "release_notes": None,
                "security_scan": None,
                "github": {"release_ref": baseline},
            },
            f"The release production runs, {baseline}, staged as the baseline the staging\n"
            f"checklist's Regression testing compares {target.release} with; it only goes\n"
            "through staging, so the pre-deployment gate's sources are left out.",
        )
        staging = ["-m", "staging", "--execute"]
        # No release before the baseline to roll back to: its failure plans nothing.
        run = self._pytest(
            f"{number}a-baseline",
            "staging",
            [*staging, "--rollback=off"],
            target=baseline_target,
        )
        outcome.runs.append(run)
        problems = only_failure(run, REGRESSION_ITEM, NO_PREVIOUS_RUN)
        if problems:
            outcome.problems += problems
            return outcome
        outcome.notes.append(
            f"{number}a baseline {baseline}: NO-GO as expected, only at {REGRESSION_ITEM} "
            "(no earlier release staged); its run record is what the next release is compared with"
        )
        self._banner(f"{number}b", f"{outcome.title} (deploy, validate, load test)")
        run = self._pytest(f"{number}b-staging", "staging", staging)
        outcome.runs.append(run)
        self._explain_failures(outcome, run)
        return outcome

    def _gate(self, number: int, target: Any) -> StepOutcome:
        outcome = StepOutcome(number, "production backup and pre-deployment gate", "GO")
        self._banner(f"{number}a", "production backup (deploy Phase 1 item, taken before the gate)")
        backup = ["-m", "deploy", "--phase", "Phase 1", "-k", "backup", "--execute"]
        outcome.runs.append(self._pytest(f"{number}a-backup", "production", backup))
        if outcome.runs[-1].go:
            self._banner(f"{number}b", f"pre-deployment gate for {target.release}")
            outcome.runs.append(self._pytest(f"{number}b-gate", "production", ["-m", "predeploy"]))
        self._explain_failures(outcome, outcome.runs[-1])
        return outcome

    def _release(self, number: int, target: Any) -> StepOutcome:
        title = f"production release {target.previous_release} -> {target.release}"
        outcome = StepOutcome(number, title, "GO")
        self._banner(str(number), title + " with post-deployment validation")
        release = ["-m", "deploy or postdeploy", "--execute", "--rollback=auto"]
        outcome.runs.append(self._pytest(f"{number}-release", "production", release))
        self._explain_failures(outcome, outcome.runs[-1])
        if outcome.runs[-1].go:
            states, problems = system.settle_on(target, "production", target.release)
            if problems:
                outcome.problems.append(
                    f"the run was GO but production is not on {target.release}: "
                    + "; ".join(problems[:5])
                )
            else:
                outcome.notes.append(
                    f"verified: {len(states)} Deployments run {target.release} "
                    "(images read from the cluster; /version and /health of every service)"
                )
        return outcome

    def _candidate(self, number: int, target: Any) -> StepOutcome:
        from gonogo.model.target import load_target

        title = f"faulty release candidate {candidate.RELEASE}"
        outcome = StepOutcome(number, title, "NO-GO")
        fault = ", ".join(f"{k.rsplit('/', 1)[-1]} {v}" for k, v in candidate.FAULT.items())
        self._banner(
            str(number),
            f"{title}: {candidate.FAULTY_SERVICE} with {fault} in its manifests, "
            "released with automatic rollback",
        )
        target_file = candidate.write_candidate(
            self.target_file, self.root, self.reports / f"candidate-{candidate.RELEASE}"
        )
        faulty = load_target(target_file)
        previous = str(faulty.previous_release)
        before = {s.deployment: s.revision for s in system.read_state(faulty, "production")}
        release = ["-m", "deploy or postdeploy", "--execute", "--rollback=auto"]
        run = self._pytest(f"{number}-candidate", "production", release, target=target_file)
        outcome.runs.append(run)
        if run.code != 1:
            outcome.problems.append(f"the run was {run.word}; it should have been caught")
        elif not run.failures:
            outcome.problems.append(f"the run's JUnit ({run.junit}) names no failed check")
        else:
            first = run.failures[0]
            outcome.notes.append(f"caught by {first.where}: {first.message}")
            if first.stage != POSTDEPLOY_STAGE:
                outcome.problems.append(
                    f"caught at {first.where}, not by {POSTDEPLOY_STAGE.lower()}"
                )
        states, problems = system.settle_on(faulty, "production", previous)
        changed = [s.deployment for s in states if s.revision != before.get(s.deployment)]
        if problems:
            outcome.problems.append(f"production is not back on {previous}: " + "; ".join(problems))
        elif not changed:
            outcome.problems.append(
                f"no Deployment changed revision: {candidate.RELEASE} was never deployed"
            )
        else:
            outcome.notes.append(
                f"rolled back: {len(changed)} Deployments ({', '.join(changed)}); verified on "
                f"{previous}: every image read from the cluster, every service's /version "
                "and /health"
            )
        return outcome

    # -- helpers ------------------------------------------------------------- #

    def _pytest(
        self, name: str, environment: str, args: list[str], *, target: Path | None = None
    ) -> RunResult:
        return run_checklist(
            name,
            args,
            target=target or self.target_file,
            environment=environment,
            reports=self.reports,
            signoffs=self.signoffs,
            cwd=self.root,
            env=self.env,
        )

    @staticmethod
    def _explain_failures(outcome: StepOutcome, run: RunResult) -> None:
        if run.go:
            return
        for failure in run.failures[:3]:
            outcome.problems.append(f"{run.name}: {failure.where}: {failure.message}")
        if not run.failures:
            outcome.problems.append(f"{run.name}: {run.word}; see {run.log}")

    @staticmethod
    def _banner(number: str, title: str) -> None:
        print(f"\n== {number} {title}", flush=True)

    def _all_as_expected(self, steps: int) -> bool:
        return len(self.outcomes) == steps and all(o.as_expected for o in self.outcomes)

    def _summary(self, elapsed: float, steps: tuple[object, ...]) -> None:
        minutes, seconds = divmod(round(elapsed), 60)
        print(f"\n== demo summary ({minutes} min {seconds} s)")
        for outcome in self.outcomes:
            mark = "as expected" if outcome.as_expected else "NOT AS EXPECTED"
            print(
                f"  {outcome.number}. {outcome.title:<48} {outcome.verdict:<6} "
                f"(expected {outcome.expected}) {mark}"
            )
            for line in outcome.notes + outcome.problems:
                print(f"       {line}")
        for number in range(len(self.outcomes) + 1, len(steps) + 1):
            print(f"  {number}. not run (an earlier step did not end as expected)")
        print(f"reports in {self.reports}:")
        for outcome in self.outcomes:
            for run in outcome.runs:
                checklist = self.reports / f"{run.name}-checklist.md"
                extra = f", {checklist.name}" if checklist.exists() else ""
                print(f"  {run.name}: {run.word:<6} {run.html.name}{extra}, {run.log.name}")
        print(
            "the sandbox is still up ('gonogo sandbox status'); "
            "'gonogo demo --reset' puts it back where the demo starts"
        )
        if self._all_as_expected(len(steps)):
            print("demo: every step ended as expected")
        else:
            print("demo: a step did not end as expected (exit 1)")


def run(root: Path, reports_dir: Path, cfg: Any) -> int:
    """Walk the release process from an empty reports folder; the exit code."""
    reports = prepare_reports(reports_dir)
    print(f"gonogo demo: reports go to {reports}", flush=True)
    return Demo(root, reports, cfg).run()


def start_point(cfg: Any, target: Any) -> None:
    """Put the demo system where the demo starts (production on the previous
    release, no staging, no fault) and wait until production is out of any
    incident an earlier run left; raises DemoError when it does not settle."""
    system.reset(cfg, print)
    previous = str(target.previous_release)
    _, problems = system.settle_on(target, "production", previous)
    if problems:
        raise DemoError(
            f"production did not settle on {previous} after the reset: "
            + "; ".join(problems[:5])
            + "; see 'gonogo sandbox status' and 'kubectl get deploy -n "
            + f"{target.namespace_for('production')}'"
        )
    still = system.wait_quiet(target, "production", print)
    if still:
        print(f"production still shows an incident ({'; '.join(still)}); the gate will judge it")
    print(f"production runs {previous}, healthy; staging is empty", flush=True)


def reset_only(root: Path, cfg: Any) -> int:
    """Put the demo system back where the demo starts, and stop."""
    from gonogo.model.target import load_target

    target = load_target(root / "targets" / "sandbox.yaml")
    system.ensure_up(cfg, print)
    with traffic.users(target, "production"):
        start_point(cfg, target)
    return 0
