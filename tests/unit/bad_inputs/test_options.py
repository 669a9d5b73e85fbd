"""Bad command-line options, tried as a user would: ``pytest -m predeploy
--target targets/sandbox.yaml --env production …`` with one option wrong.

Each refusal is exit 4 with one line naming the option and the fix, no
traceback, no canary, and no report: a usage error is not a run, so it must
not leave an HTML report, a ``junit-<env>.xml`` (which the next staging run
would compare against) or a ``checklist.md`` behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.clean_failure import ROOT, SANDBOX_TARGET, Outcome, assert_clean_failure, run

TARGET = str(SANDBOX_TARGET.relative_to(ROOT))
BASE = ["pytest", "-m", "predeploy", "--target", TARGET, "--env", "production"]


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    mentions: tuple[str, ...]
    """Strings the one-line message must contain; ``{tmp}`` is the case's folder."""
    exit_code: int = 4
    base: bool = True
    """False: the case's args replace ``--target targets/sandbox.yaml``."""


def assert_no_report(outcome: Outcome, tmp_path: Path) -> None:
    """The run wrote nothing: no file anywhere under the case's folder but the
    inputs the case made itself."""
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("input-")]
    assert not written, f"a usage error wrote {written}; output:\n{outcome.output[-2000:]}"


def make_inputs(tmp_path: Path) -> None:
    """Files some cases point at, all named input-* so they are not mistaken for reports."""
    (tmp_path / "input-file").write_text("not a folder\n")
    (tmp_path / "input-t.yaml").write_text(SANDBOX_TARGET.read_text())
    (tmp_path / "input-s.yaml").write_text("signoffs: []\n")
    (tmp_path / "input-dir").mkdir()


CASES = [
    # Already one line and exit 4 on the old main (the options' own parsers):
    Case("env-unknown", ("--env", "prod"), ("--env 'prod'", "use one of: production")),
    Case("env-empty", ("--env", ""), ("--env ''", "use one of")),
    Case("rollback-unknown", ("--rollback", "maybe"), ("--rollback='maybe'", "use plan")),
    Case("rollback-eq-empty", ("--rollback=",), ("--rollback=''", "auto")),
    Case("target-missing", ("--target", "nope.yaml"), ("--target nope.yaml", "no such file")),
    Case("target-dir", ("--target", "targets"), ("--target targets", "check the path")),
    Case("signoffs-missing", ("--signoffs", "nope.yaml"), ("--signoffs nope.yaml", "no such file")),
    Case("signoffs-dir", ("--signoffs", "docs"), ("--signoffs docs", "no such file")),
    Case("load-workers-zero", ("--load-workers", "0"), ("--load-workers '0'", "1 or more")),
    Case("load-workers-negative", ("--load-workers=-3",), ("--load-workers '-3'", "1 or more")),
    Case("load-workers-word", ("--load-workers", "many"), ("--load-workers 'many'", "1 or more")),
    Case("n-word", ("-n", "lots"), ("-n/--numprocesses", "'lots'")),
    Case("dist-unknown", ("--dist", "sideways"), ("--dist", "'sideways'")),
    Case("dist-worksteal", ("-n", "2", "--dist", "worksteal"), ("--dist worksteal", "-n N alone")),
    Case("dist-loadfile", ("-n", "2", "--dist", "loadfile"), ("--dist loadfile", "-n N alone")),
    Case("target-checks-need-target", ("--target=",), ("--target", "no such file")),
    # Fixed: refused before anything runs, and no report written.
    Case(
        "phase-unknown", ("--phase", "Phase 42"), ("--phase 'Phase 42' names no phase", "phases:")
    ),
    Case(
        "phase-unknown-after-good",
        ("--phase", "Phase 1", "--phase", "Nope"),
        ("--phase 'Nope' names no phase",),
    ),
    Case(
        "from-phase-unknown",
        ("--from-phase", "Phase 9"),
        ("--from-phase 'Phase 9' names no phase", "'Phase 1 (T-30)'"),
    ),
    Case(
        "from-phase-ambiguous",
        ("--from-phase", "Phase"),
        ("--from-phase 'Phase' matches several phases",),
    ),
    Case("dist-each", ("-n", "2", "--dist", "each"), ("--dist each", "every worker", "-n N alone")),
    Case(
        "dist-each-without-n",
        ("--dist", "each", "--tx", "popen"),
        ("--dist each", "-n N alone"),
    ),
    Case(
        "target-twice",
        ("--target", TARGET),
        (f"--target {TARGET} is given twice", "give each file once"),
    ),
    Case(
        "target-twice-other-spelling",
        ("--target", str(SANDBOX_TARGET)),
        ("name the same file", "give each file once"),
    ),
    Case(
        "target-twice-dot-path",
        ("--target", f"./{TARGET}", "-n", "2"),
        ("is given twice", "give each file once"),
    ),
    Case(
        "reports-dir-file",
        ("--reports-dir={tmp}/input-file",),
        ("--reports-dir {tmp}/input-file: not a directory", "name a folder"),
    ),
    Case(
        "reports-dir-under-file",
        ("--reports-dir={tmp}/input-file/reports",),
        ("--reports-dir {tmp}/input-file/reports: not a directory", "is a file", "name a folder"),
    ),
    Case(
        "target-outside-space-form",
        ("-m", "predeploy", "--target", "{tmp}/input-t.yaml", "--env", "production"),
        (
            "--target {tmp}/input-t.yaml: pytest took this path for a test path",
            "pyproject.toml was not read",
            "--target={tmp}/input-t.yaml or add -c",
        ),
        base=False,
    ),
    Case(
        "signoffs-outside-space-form",
        ("-m", "predeploy", "--target={tmp}/input-t.yaml", "--signoffs", "{tmp}/input-s.yaml"),
        ("--signoffs {tmp}/input-s.yaml: pytest took this path", "--signoffs={tmp}/input-s.yaml"),
        base=False,
    ),
    Case(
        "reports-dir-outside-space-form",
        ("-m", "predeploy", "--target={tmp}/input-t.yaml", "--reports-dir", "{tmp}/input-dir"),
        ("--reports-dir {tmp}/input-dir: pytest took this path", "--reports-dir={tmp}/input-dir"),
        base=False,
    ),
    Case(
        "checklist-missing",
        ("--checklist", "docs/nope.md"),
        ("docs/nope.md: checklist file not found", "--checklist FILE"),
    ),
    Case("mark-expression-broken", ("-m", "predeploy and ("), ("-m", "expected")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_option_is_one_line_exit_4_and_writes_no_report(case: Case, tmp_path: Path) -> None:
    make_inputs(tmp_path)
    given = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    outcome = run([*BASE, *given] if case.base else ["pytest", *given], tmp_path)
    mentions = tuple(m.replace("{tmp}", str(tmp_path)) for m in case.mentions)
    assert_clean_failure(outcome, exit_code=case.exit_code, mentions=mentions)
    assert_no_report(outcome, tmp_path)
    errors = [line for line in outcome.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) <= 1, f"more than one error line:\n{outcome.output[-2000:]}"


def test_checks_of_a_target_without_one_are_refused_without_a_report(tmp_path: Path) -> None:
    """``--execute`` and no target: the suites' checks need one; say so once."""
    outcome = run(
        ["pytest", "suites", "-m", "deploy", "--execute", "--env", "production"], tmp_path
    )
    assert_clean_failure(outcome, exit_code=4, mentions=("pass --target FILE",))
    assert_no_report(outcome, tmp_path)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(["--target={tmp}/input-t.yaml"], id="equals-form"),
        pytest.param(["-c", "pyproject.toml", "--target", "{tmp}/input-t.yaml"], id="config-file"),
    ],
)
def test_a_target_outside_the_repository_works_in_the_forms_the_refusal_names(
    form: list[str], tmp_path: Path
) -> None:
    """The two spellings the refusal offers read the project's ini file: the
    checklist is found and the suites are collected."""
    make_inputs(tmp_path)
    args = [
        "pytest",
        "-m",
        "predeploy",
        "--env",
        "production",
        "--collect-only",
        "-q",
        *(a.replace("{tmp}", str(tmp_path)) for a in form),
    ]
    outcome = run(args, tmp_path)
    assert outcome.exit_code == 0, outcome.output[-3000:]
    assert "suites/predeploy/" in outcome.stdout
    assert "rootdir: /" not in outcome.output
