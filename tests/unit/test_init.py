"""``gonogo init``: a team's own checklist becomes a project whose first
``pytest`` is an honest NO-GO, and running init again only adds."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from gonogo.cli import main, scaffold
from gonogo.cli.init import run_init
from gonogo.model.checklist import load_checklist

from tests.support.mini_project import MINI_TARGET
from tests.support.suite_runner import REPO, run_pytest

RUNBOOK = """\
# Release runbook

## Pre-Flight

### Readiness (T-30 minutes)
- [ ] **Backup verification** - Recent backups are restorable
  ```bash
  velero backup get
  velero backup describe "nightly" --details
  ```
- [ ] **Change approval** - Obtain approval from change management
- [ ] **Kubernetes cluster healthy** - All nodes ready and resources available

## Cut-over

### Switch (T+0)
- [ ] **Traffic switched** - The load balancer points at the new pool
- [ ] **Communication sent** - Notify stakeholders
"""

NOT_AUTOMATED = ("Backup verification", "Kubernetes cluster healthy", "Traffic switched")
SIGNED_OFF = ("Change approval", "Communication sent")


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    path = tmp_path / "runbook.md"
    path.write_text(RUNBOOK, encoding="utf-8")
    return path


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    return tmp_path / "gate"


def ready_checks_or_skip() -> None:
    try:
        from gonogo.checks import suggest_ready_check  # noqa: F401
    except ImportError:
        pytest.skip("gonogo.checks offers no ready-made checks yet")


def init(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["init", *args]) == 0
    return capsys.readouterr().out


def test_the_first_run_of_the_scaffold_is_an_honest_no_go(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = init(capsys, str(runbook), "--into", str(gate), "--no-ready")
    for name in (
        "pyproject.toml",
        "conftest.py",
        "tests/test_pre_flight.py",
        "tests/test_cut_over.py",
    ):
        assert (gate / name).is_file(), out
    ini = tomllib.loads((gate / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["gonogo_checklist"] == "../runbook.md"
    assert ini["addopts"] == "--strict-markers -p no:locust"
    assert "5 items: 0 bound to ready-made checks, 2 sign-off checks, 3 not automated yet" in out
    assert f"next: cd {gate} && pytest" in out
    assert "run pytest --target=FILE --env NAME --signoffs=FILE" in out

    everything = run_pytest("--no-gate", "-rA", cwd=gate, timeout=120)
    assert everything.returncode == 1, everything.output
    assert "error" not in everything.output.split("short test summary info")[-1].lower()
    for title in NOT_AUTOMATED:
        assert f"not automated yet: {title}" in everything.output
    assert 'velero backup describe "nightly" --details' in everything.output
    assert "5 failed" in everything.output

    gated = run_pytest("-rA", cwd=gate, timeout=120)
    assert gated.returncode == 1, gated.output
    assert "not automated yet: Backup verification" in gated.output
    assert "NO-GO" in gated.output and "blocked" in gated.output


def test_a_sign_off_check_never_passes_without_a_sign_off(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(MINI_TARGET, encoding="utf-8")
    init(capsys, str(runbook), "--into", str(gate), "--no-ready", "--target", str(target))
    source = (gate / "tests/test_pre_flight.py").read_text()
    assert '@pytest.mark.manual\n@pytest.mark.item("Change approval")' in source
    assert "def test_change_approval(signoff: SignOff | None)" in source
    # Development needs no approval, so the plugin lets the body run: the
    # scaffold's own body must still refuse to pass without a sign-off.
    args = ("--no-gate", "-rA", "--env", "development")
    run = run_pytest(*args, "-k", "approval", cwd=gate, timeout=120)
    assert run.returncode == 1, run.output
    assert (
        "no sign-off recorded for 'Change approval'; record one with gonogo signoff" in run.output
    )

    signoffs = tmp_path / "signoffs.yaml"
    assert main(
        [
            "signoff", "--signoffs", str(signoffs), "--checklist", str(runbook),
            "--item", "Change approval", "--who", "Dana Ops", "--role", "self-service",
            "--release", "v2.0.0", "--environment", "development", "--ticket", "CHG-1",
        ]
    ) == 0  # fmt: skip
    signed = run_pytest(*args, f"--signoffs={signoffs}", "-k", "approval", cwd=gate, timeout=120)
    assert "PASSED tests/test_pre_flight.py::test_change_approval" in signed.output, signed.output


def test_running_init_again_adds_new_items_and_keeps_every_edit(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(capsys, str(runbook), "--into", str(gate), "--no-ready")
    pre_flight = gate / "tests/test_pre_flight.py"
    cut_over = gate / "tests/test_cut_over.py"
    edited = pre_flight.read_text().replace(
        '    pytest.fail(\n        "not automated yet: Backup verification"',
        '    assert True  # our own check, written by hand\n    pytest.fail(\n        "edited"',
    )
    pre_flight.write_text(edited + "\n# a comment of ours, no newline after it", encoding="utf-8")
    pre_flight_bytes, cut_over_bytes = pre_flight.read_bytes(), cut_over.read_bytes()
    config_bytes = (gate / "pyproject.toml").read_bytes()
    runbook.write_text(
        RUNBOOK + "- [ ] **Rollback drill** - The previous release can be restored\n"
        "\n## Aftercare\n\n### Watch (T+60)\n- [ ] **Error budget intact**\n",
        encoding="utf-8",
    )

    out = init(capsys, str(runbook), "--into", str(gate), "--no-ready")

    assert pre_flight.read_bytes() == pre_flight_bytes
    assert (gate / "pyproject.toml").read_bytes() == config_bytes
    grown = cut_over.read_bytes()
    assert grown.startswith(cut_over_bytes) and b'item("Rollback drill")' in grown
    assert (gate / "tests/test_aftercare.py").is_file()
    assert "already there: 5 items have a test" in out
    assert "appended to tests/test_cut_over.py: 1 test ('Rollback drill')" in out
    assert "7 items: 0 bound to ready-made checks, 0 sign-off checks, 2 not automated yet" in out

    again = init(capsys, str(runbook), "--into", str(gate), "--no-ready")
    assert "7 items: 0 bound" in again and "2 not automated yet" not in again
    assert cut_over.read_bytes() == grown

    run = run_pytest("--no-gate", "-rA", cwd=gate, timeout=120)
    assert run.returncode == 1, run.output
    assert "not automated yet: Rollback drill" in run.output
    assert "not automated yet: Error budget intact" in run.output
    assert "7 failed" in run.output


def test_without_a_terminal_or_a_flag_ready_checks_are_only_suggested(
    runbook: Path, gate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_checks_or_skip()
    target = tmp_path / "target.yaml"
    target.write_text(MINI_TARGET, encoding="utf-8")
    out = init(capsys, str(runbook), "--into", str(gate), "--target", str(target))
    assert "suggested: 'Kubernetes cluster healthy' (Pre-Flight) -> cluster_healthy" in out
    assert "not bound (no terminal to ask on; --accept-ready binds every suggestion)" in out
    assert 'check("Kubernetes cluster healthy", cluster_healthy)' in out
    assert "0 bound to ready-made checks" in out
    source = (gate / "tests/test_pre_flight.py").read_text()
    assert not [line for line in source.splitlines() if "check(" in line and line[0] != "#"]
    assert "# The ready-made check cluster_healthy may fit" in source


def test_a_ready_check_needing_a_target_is_bound_only_with_one(
    runbook: Path, gate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ready_checks_or_skip()
    out = init(capsys, str(runbook), "--into", str(gate), "--accept-ready")
    assert "not bound: it needs a target" in out and "0 bound to ready-made checks" in out

    target = tmp_path / "target.yaml"
    target.write_text(MINI_TARGET, encoding="utf-8")
    bound = tmp_path / "bound"
    args = (str(runbook), "--into", str(bound), "--accept-ready", "--target", str(target))
    out = init(capsys, *args)
    assert "5 items: 1 bound to ready-made checks, 2 sign-off checks, 2 not automated yet" in out
    source = (bound / "tests/test_pre_flight.py").read_text()
    assert "from gonogo.checks import SignOff, check, cluster_healthy" in source
    assert (
        'test_kubernetes_cluster_healthy = check("Kubernetes cluster healthy", cluster_healthy)'
        in source
    )
    ini = tomllib.loads((bound / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["addopts"] == "--strict-markers -p no:locust --target=../target.yaml"
    collected = run_pytest("--collect-only", "-q", cwd=bound, timeout=120)
    assert collected.returncode == 0, collected.output
    assert "5 tests collected" in collected.output

    # Run again without --target: the kept configuration passes one, so a new
    # item's ready-made check is bound, its import added beside it.
    runbook.write_text(
        RUNBOOK.replace(
            "## Cut-over",
            "- [ ] **Storage availability** - Persistent volumes bound\n\n## Cut-over",
        ),
        encoding="utf-8",
    )
    before = (bound / "tests/test_pre_flight.py").read_text()
    out = init(capsys, str(runbook), "--into", str(bound), "--accept-ready")
    assert "6 items: 1 bound to ready-made checks, 0 sign-off checks, 0 not automated yet" in out
    grown = (bound / "tests/test_pre_flight.py").read_text()
    assert grown.startswith(before)
    assert grown[len(before) :].count("from gonogo.checks import storage_available  # noqa: E402")
    collected = run_pytest("--collect-only", "-q", cwd=bound, timeout=120)
    assert collected.returncode == 0, collected.output
    assert "6 tests collected" in collected.output


def test_on_a_terminal_each_suggestion_is_asked(runbook: Path, gate: Path, tmp_path: Path) -> None:
    ready_checks_or_skip()
    from gonogo.cli.init import ready_suggester

    target = tmp_path / "target.yaml"
    target.write_text(MINI_TARGET, encoding="utf-8")
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    report = run_init(runbook, gate, target=target, mode="ask", suggest=ready_suggester(), ask=no)
    assert len(asked) == 1 and "cluster_healthy" in asked[0], asked
    assert report.added == {"ready": 0, "signoff": 2, "todo": 3}
    assert "check(" not in (gate / "tests/test_pre_flight.py").read_text()


def test_an_existing_pyproject_is_never_clobbered(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate.mkdir()
    (gate / "pyproject.toml").write_text('[project]\nname = "ours"\n', encoding="utf-8")
    out = init(capsys, str(runbook), "--into", str(gate), "--no-ready")
    assert (gate / "pyproject.toml").read_text() == '[project]\nname = "ours"\n'
    assert "wrote pytest.ini" in out
    assert "gonogo_checklist = ../runbook.md" in (gate / "pytest.ini").read_text()

    other = gate.parent / "other"
    other.mkdir()
    ours = '[tool.pytest.ini_options]\naddopts = "-q"\n'
    (other / "pyproject.toml").write_text(ours, encoding="utf-8")
    out = init(capsys, str(runbook), "--into", str(other), "--no-ready")
    assert (other / "pyproject.toml").read_text() == ours
    assert not (other / "pytest.ini").exists()
    assert "pyproject.toml already configures pytest and is not changed" in out


def test_the_seed_checklist_scaffolds_without_a_collection_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = REPO / "docs" / "checklists.md"
    checklist = load_checklist(seed)
    manual = {i.title for i in checklist.all_items() if scaffold.is_manual(i)}
    assert manual == {
        "Change approval",
        "Team availability",
        "Communication sent",
        "User acceptance testing",
        "Incident Communication",
    }
    gate = tmp_path / "gate"
    out = init(capsys, str(seed), "--into", str(gate), "--no-ready")
    items = sum(1 for _ in checklist.all_items())
    assert f"{items} items: 0 bound to ready-made checks, 5 sign-off checks" in out
    # Titles the checklist repeats are bound by their phase.
    assert 'item("Performance testing", phase="Staging Testing Checklist")' in "".join(
        p.read_text() for p in (gate / "tests").glob("*.py")
    )
    collected = run_pytest("--collect-only", "-q", cwd=gate, timeout=120)
    assert collected.returncode == 0, collected.output
    assert f"{items} tests collected" in collected.output


def test_a_module_that_does_not_parse_stops_init_before_it_writes(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gate / "tests").mkdir(parents=True)
    broken = gate / "tests" / "test_pre_flight.py"
    broken.write_text("def test_x(:\n", encoding="utf-8")
    assert main(["init", str(runbook), "--into", str(gate), "--no-ready"]) == 4
    err = capsys.readouterr().err
    assert "test_pre_flight.py:1: is not valid Python" in err and "run gonogo init again" in err
    assert sorted(p.name for p in gate.rglob("*") if p.is_file()) == ["test_pre_flight.py"]


def test_bindings_are_read_from_markers_and_check_calls() -> None:
    facts = scaffold.read_module(
        textwrap.dedent(
            """
            import pytest
            from gonogo.checks import check, cluster_healthy

            test_a = check("Kubernetes cluster healthy", cluster_healthy)

            class TestGroup:
                @pytest.mark.item("Traffic switched", phase="Switch (T+0)")
                def test_b(self): ...
            """
        ),
        "m.py",
    )
    assert [(b.title, b.phase) for b in facts.bindings] == [
        ("Kubernetes cluster healthy", None),
        ("Traffic switched", "Switch (T+0)"),
    ]
    assert {"test_a", "TestGroup", "pytest", "check"} <= facts.names
    assert facts.imports_pytest and facts.from_checks == {"check", "cluster_healthy"}


def test_a_missing_checklist_is_one_line_naming_the_command(
    gate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(gate.parent / "nope.md"), "--into", str(gate)]) == 4
    err = capsys.readouterr().err
    assert "nope.md: no such checklist file; give the path of your Markdown checklist" in err
    assert not gate.exists()


def test_a_project_started_without_a_target_signs_off_the_target_a_run_names(
    runbook: Path, gate: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    init(capsys, str(runbook), "--into", str(gate), "--no-ready")
    target = tmp_path / "target.yaml"
    target.write_text(MINI_TARGET, encoding="utf-8")
    signoffs = tmp_path / "signoffs.yaml"
    assert main(
        [
            "signoff", "--signoffs", str(signoffs), "--checklist", str(runbook),
            "--item", "Change approval", "--who", "Dana Ops", "--role", "self-service",
            "--release", "v2.0.0", "--environment", "development", "--ticket", "CHG-1",
        ]
    ) == 0  # fmt: skip
    args = ("--no-gate", "-rA", f"--target={target}", "--env", "development")
    signed = run_pytest(*args, f"--signoffs={signoffs}", "-k", "approval", cwd=gate, timeout=120)
    assert "PASSED tests/test_pre_flight.py::test_change_approval" in signed.output, signed.output
    unsigned = run_pytest(*args, "-k", "approval", cwd=gate, timeout=120)
    assert unsigned.returncode == 1, unsigned.output
