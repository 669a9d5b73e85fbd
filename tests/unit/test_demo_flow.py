"""The parts of ``gonogo demo`` that need no sandbox: reading a run's JUnit,
the reports folder it starts from, the faulty candidate it writes and the
sign-offs it records. The walk itself is tested against the sandbox in
tests/e2e/test_demo.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gonogo.integrations import scan
from gonogo.model.signoffs import find_signoff, load_signoffs
from gonogo.model.target import load_target
from gonogo_sandbox import faults
from gonogo_sandbox.demo import candidate, flow
from gonogo_sandbox.demo.runs import Failure, RunResult, read_failures
from gonogo_sandbox.demo.signoffs import (
    PRODUCTION_SIGNOFF_ITEMS,
    STAGING_SIGNOFF_ITEMS,
    write_demo_signoffs,
)
from gonogo_sandbox.services import oci
from gonogo_sandbox.services.images import RELEASES, ImageRef

REPO = Path(__file__).resolve().parents[2]
SANDBOX_TARGET = REPO / "targets" / "sandbox.yaml"


def test_read_failures_names_stage_phase_item_and_message(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bound="""
        import pytest

        @pytest.mark.item("Cluster healthy")
        def test_cluster():
            assert False, "nodes not Ready: node-1"

        @pytest.mark.item("Backup verification")
        def test_backup():
            pass
        """
    )
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--junitxml=out.xml", "--no-gate"
    )
    assert result.ret == 1
    failures = read_failures(project.path / "out.xml")
    assert len(failures) == 1, failures
    failure = failures[0]
    assert (failure.stage, failure.phase, failure.title) == (
        "Pre-Deployment Checklist",
        "Readiness",
        "Cluster healthy",
    )
    assert "nodes not Ready: node-1" in failure.message
    assert failure.where == "Pre-Deployment Checklist › Readiness › Cluster healthy"


def test_reports_folder_of_someone_else_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "results.xml").write_text("<testsuites/>")
    with pytest.raises(flow.DemoError, match="not written by 'gonogo demo'"):
        flow.prepare_reports(tmp_path)
    assert (tmp_path / "results.xml").is_file()


def test_an_earlier_demos_reports_folder_is_emptied(tmp_path: Path) -> None:
    reports = flow.prepare_reports(tmp_path / "demo")
    (reports / "junit-staging.xml").write_text("<testsuites/>")
    (reports / "load").mkdir()
    again = flow.prepare_reports(tmp_path / "demo")
    assert sorted(p.name for p in again.iterdir()) == [flow.MARKER]


def test_candidate_is_the_next_release_with_one_faulty_service(tmp_path: Path) -> None:
    path = candidate.write_candidate(SANDBOX_TARGET, REPO, tmp_path / "candidate")
    base = load_target(SANDBOX_TARGET)
    target = load_target(path)
    assert candidate.RELEASE in RELEASES, "the registry must hold the candidate's images"
    assert (target.release, target.previous_release) == (candidate.RELEASE, base.release)
    assert target.manifests_dir is not None
    for manifest in sorted((REPO / "sandbox" / "manifests").glob("*.yaml")):
        copied = target.manifests_dir / manifest.name
        documents = list(yaml.safe_load_all(copied.read_text()))
        if manifest.name == f"{candidate.FAULTY_SERVICE}.yaml":
            (deployment,) = [d for d in documents if d and d["kind"] == "Deployment"]
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert faults.parse(annotations).error_rate == 0.2
        else:
            assert documents == list(yaml.safe_load_all(manifest.read_text())), manifest.name
    # the deploy stage's scan check matches the report to the registry's digests
    assert target.security_scan is not None
    text = target.security_scan.report.read_text()
    report = scan.load(target.security_scan.report, target.security_scan.format)
    for service in target.release_services():
        repository = target.image_ref(service).rsplit("/", 1)[1].split(":")[0]
        assert report.covers(target.image_ref(service)), service.name
        assert oci.build(ImageRef(repository, candidate.RELEASE)).digest in text, service.name


def test_demo_signoffs_cover_the_manual_items_and_say_they_are_the_demos(tmp_path: Path) -> None:
    target = load_target(SANDBOX_TARGET)
    baseline = str(target.previous_release)
    path = write_demo_signoffs(tmp_path / "signoffs.yaml", target, staging_also=(baseline,))
    entries = load_signoffs(path)
    for environment, release, items in (
        ("staging", baseline, STAGING_SIGNOFF_ITEMS),
        ("staging", target.release, STAGING_SIGNOFF_ITEMS),
        ("production", target.release, PRODUCTION_SIGNOFF_ITEMS),
    ):
        for item in items:
            found, refused = find_signoff(entries, item, release, environment)
            assert found is not None, (item, environment, refused)
            assert found.role == target.environment(environment).approval.role
            assert "demo" in found.who


def _run(code: int, *failures: Failure) -> RunResult:
    return RunResult("1a-baseline", code, Path("1a.log"), None, Path("1a.html"), list(failures))


def test_only_failure_accepts_exactly_the_expected_failure() -> None:
    regression = Failure(
        "Staging", "Testing", "Regression testing", "no previous_release to compare"
    )
    other = Failure("Staging", "Testing", "Functional testing", "workflows failed")
    expected = ("Regression testing", "no previous_release to compare")
    assert flow.only_failure(_run(1, regression), *expected) == []
    assert "Functional testing" in flow.only_failure(_run(1, regression, other), *expected)[0]
    assert "did not fail" in flow.only_failure(_run(1, other), *expected)[-1]
    assert "GO, expected NO-GO" in flow.only_failure(_run(0), *expected)[0]
    wrong = Failure("Staging", "Testing", "Regression testing", "3 tests regressed")
    assert "failed otherwise" in flow.only_failure(_run(1, wrong), *expected)[0]
