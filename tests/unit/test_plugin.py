"""The plugin's behaviour, proven by running pytest on small projects (pytester)."""

from __future__ import annotations

import textwrap

import pytest

SUITE = """\
import pytest

@pytest.mark.item("Service health checks")
def test_post(target):
    pass

@pytest.mark.item("Deploy services")
@pytest.mark.parametrize("service", ["web", "db", "api"])
def test_deploy(target, service):
    pass

@pytest.mark.item("System health check")
def test_health(target):
    {health_body}

@pytest.mark.item("Rollback to previous version")
def test_rollback_step(target):
    pass

@pytest.mark.item("Performance testing", phase="Staging Testing")
def test_staging_perf(target):
    pass

@pytest.mark.item("Cluster healthy")
def test_cluster(target):
    pass

@pytest.mark.item("Immediate Response")
def test_emergency(target):
    pass
"""


def suite(health_body: str = "pass") -> str:
    return SUITE.replace("{health_body}", health_body)


def run_order(result: pytest.RunResult) -> list[str]:
    """Test names in the order they ran, without the target's id."""
    return [
        line.split(" ")[0].split("::")[1].replace("[shop]", "").replace("[shop-", "[")
        for line in result.outlines
        if "::test_" in line and (" PASSED" in line or " FAILED" in line or " SKIPPED" in line)
    ]


def test_markers_are_registered_with_signature_and_provenance(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.item(title, *, stage=None, phase=None): bind this test*Provided by gonogo.",
            "@pytest.mark.env(*names): environments*Provided by gonogo.",
            "@pytest.mark.mutating: *Provided by gonogo.",
            "@pytest.mark.manual: *Provided by gonogo.",
            "@pytest.mark.predeploy: *Provided by gonogo.",
            "@pytest.mark.emergency: *Provided by gonogo.",
        ]
    )


def test_tests_run_in_timeline_order_then_dependency_order(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite())
    result = project.runpytest("-v", "--target", "target.yaml", "--env", "production")
    assert result.ret == 0
    assert run_order(result) == [
        "test_cluster",  # pre-deploy
        "test_staging_perf",  # staging: preparation stages come first, in document order
        "test_health",  # Phase 1 (T-30)
        "test_deploy[db]",  # Phase 2 (T-10), services in dependency order
        "test_deploy[api]",
        "test_deploy[web]",
        "test_post",  # T+10
        "test_rollback_step",  # remedial stages last
        "test_emergency",
    ]
    result.stdout.fnmatch_lines(
        ["*gonogo verdict*", "GO — 9 checks passed; scope: *, 9 of 9 checks ran"]
    )


def test_stage_marker_selects_exactly_the_stage(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite())
    result = project.runpytest("-v", "-m", "deploy", "--target", "target.yaml")
    assert run_order(result) == [
        "test_health",
        "test_deploy[db]",
        "test_deploy[api]",
        "test_deploy[web]",
    ]
    result.assert_outcomes(passed=4, deselected=5)


def test_failed_phase_blocks_later_phases_and_stages_but_not_remedial(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_suite=suite("assert False, 'pods not ready'"))
    result = project.runpytest("-v", "-rs", "--target", "target.yaml", "--env", "development")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=1, skipped=4)
    result.stdout.fnmatch_lines(
        [
            "*test_deploy[[]shop-db[]] SKIPPED (blocked by Phase 1 (T-30): System health check)*",
            "*test_post[[]shop[]] SKIPPED (blocked by Phase 1 (T-30): System health check)*",
            "*test_rollback_step[[]shop[]] PASSED*",
            "*test_emergency[[]shop[]] PASSED*",
            "NO-GO — Phase 1 (T-30) failed: 1 check; 4 checks blocked; rollback: not triggered; *",
        ]
    )


def test_no_gate_runs_everything_and_is_still_no_go(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite("assert False"))
    result = project.runpytest("--no-gate", "--target", "target.yaml", "--env", "development")
    assert result.ret == 1
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["NO-GO — Phase 1 (T-30) failed: 1 check; 0 checks blocked*"])


def test_failed_predeploy_gate_stops_the_deploy_phases(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_pre="""
        import pytest

        @pytest.mark.item("Cluster healthy")
        def test_cluster(target):
            assert False, "node-2 NotReady"

        @pytest.mark.item("Deploy services")
        def test_deploy(target):
            pass
        """
    )
    result = project.runpytest("-rs", "--target", "target.yaml", "--env", "production")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*blocked by Readiness: Cluster healthy*"])


def test_unknown_item_is_a_collection_error_with_suggestions(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.item("Cluster healty")
        def test_x():
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad.py*",
            "*no checklist item titled 'Cluster healty'; did you mean: 'Cluster healthy'*",
        ]
    )


def test_ambiguous_item_lists_candidates_and_phase_resolves_it(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_amb="""
        import pytest

        @pytest.mark.item("Performance testing")
        def test_x():
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*'Performance testing' is ambiguous: Pre-Deployment Checklist › Readiness › Performance"
            " testing (line *); Staging Deployment Checklist › Staging Testing › Performance testing"
            " (line *). Name one with stage=... or phase=...*"
        ]
    )
    project.makepyfile(
        test_amb="""
        import pytest

        @pytest.mark.item("Performance testing", stage="predeploy")
        def test_x():
            pass
        """
    )
    result = project.runpytest("-m", "predeploy")
    result.assert_outcomes(passed=1)


def test_env_marker_deselects_other_environments(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_env="""
        import pytest

        @pytest.mark.item("Cluster healthy")
        @pytest.mark.env("production")
        def test_prod():
            pass

        @pytest.mark.item("Backup verification")
        @pytest.mark.env("staging", "development")
        def test_other():
            pass
        """
    )
    result = project.runpytest("-v", "--env", "staging")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_other PASSED*"])


def test_from_phase_resumes_the_timeline(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite())
    result = project.runpytest("-v", "--target", "target.yaml", "--from-phase", "Phase 2")
    assert run_order(result) == [
        "test_deploy[db]",
        "test_deploy[api]",
        "test_deploy[web]",
        "test_post",
        "test_rollback_step",
        "test_emergency",
    ]
    result = project.runpytest("--target", "target.yaml", "--from-phase", "Phase 9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--from-phase 'Phase 9' names no phase; phases: 'Planning',*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--env", "prod"],
            "*--env 'prod': unknown environment; use one of: production, staging, development*",
        ),
        (
            ["--rollback", "maybe"],
            "*--rollback='maybe': use plan (record the plan, change nothing), auto*",
        ),
        (["--target", "nope.yaml"], "*--target nope.yaml: no such file; check the path*"),
        (["--load-workers", "0"], "*--load-workers '0': give a whole number of 1 or more*"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_bad_target_file_exits_4_with_file_and_line(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml",
        bad=textwrap.dedent(
            """\
            name: shop
            release: v2.0.0
            previous_release: v1.0.0
            namespaces: {production: shop}
            environments: {production: {}}
            services:
              - {name: api, depends_on: [web]}
              - {name: web, depends_on: [api]}
            """
        ),
    )
    result = project.runpytest("--target", "bad.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad.yaml:*dependency cycle: *api*web*"])
    assert "Traceback" not in result.stderr.str()


def test_target_checks_need_a_target(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite())
    result = project.runpytest()
    result.stderr.fnmatch_lines(
        ["ERROR: test_suite.py::test_post checks a target (and 6 more checks): pass --target FILE*"]
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_tests_without_a_target_run_without_one(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_plain="""
        import pytest

        @pytest.mark.item("Cluster healthy")
        def test_x():
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["GO — 1 checks passed; scope: *"])


def test_checklist_listing_shows_bindings_and_gaps_and_runs_nothing(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_suite=suite("assert False"))
    result = project.runpytest("--gonogo-checklist", "--target", "target.yaml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "Pre-Deployment Checklist  [[]-m pre_deployment_checklist or -m predeploy[]]",
            "  Planning",
            "    [ ] Change approval  -- no test",
            "  Readiness",
            "    [x] Cluster healthy",
            "          test_suite.py::test_cluster[[]shop[]]",
            "Production Deployment Checklist  [[]-m production_deployment_checklist or -m deploy[]]",
            "  Phase 1: Validate (T-30 minutes)  T-30",
            "Emergency Procedures  [[]-m emergency_procedures or -m emergency, remedial*",
            "    [x] step Immediate Response",
            "9 checklist items, 1 emergency steps; 7 with tests, 3 without",
        ]
    )
    assert "FAILED" not in result.stdout.str()


def test_under_xdist_order_and_gates_hold_per_target(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project.makefile(
        ".yaml",
        other=(project.path / "target.yaml").read_text().replace("name: shop", "name: shop-eu"),
    )
    project.makepyfile(
        test_suite=suite("import os\n    assert target.name != 'shop', 'fails only for shop'")
    )
    result = project.runpytest_subprocess(
        "-n",
        "2",
        "-v",
        "-rs",
        "--target",
        "target.yaml",
        "--target",
        "other.yaml",
        "--env",
        "development",
    )
    assert result.ret == 1
    result.assert_outcomes(passed=13, failed=1, skipped=4)
    # the failing target's later checks are blocked; the other target's are not
    result.stdout.fnmatch_lines(["*SKIPPED test_suite.py::test_post[[]shop[]]*"])
    assert not [line for line in result.outlines if "SKIPPED" in line and "shop-eu" in line]
    result.stdout.fnmatch_lines(
        [
            "NO-GO [[]shop[]] — Phase 1 (T-30) failed*",
            "GO [[]shop-eu[]] — 9 checks passed; scope: *",
            "NO-GO — failed: shop",
        ]
    )
    # each target's timeline ran on one worker, in order
    for name in ("shop", "shop-eu"):
        workers = {
            line.split("]")[0]
            for line in result.outlines
            if line.startswith("[gw") and f"[{name}]" in line
        }
        assert len(workers) == 1, workers


def test_phase_option_runs_only_that_phase(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=suite())
    result = project.runpytest(
        "-v", "--target", "target.yaml", "--phase", "Immediate Validation", "--phase", "Phase 1"
    )
    assert run_order(result) == ["test_health", "test_post"]
    result.assert_outcomes(passed=2, deselected=7)
    result = project.runpytest("--target", "target.yaml", "--phase", "Performance testing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--phase 'Performance testing' names no phase; phases:*"])


def test_a_target_run_without_paths_collects_the_suites_not_testpaths(
    project: pytest.Pytester,
) -> None:
    project.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = checklist.md
            testpaths = tests
            gonogo_suites = suites
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    project.mkdir("tests").joinpath("test_own.py").write_text("def test_own():\n    pass\n")
    project.mkdir("suites").joinpath("test_checks.py").write_text(
        "import pytest\n\n"
        '@pytest.mark.item("Cluster healthy")\n'
        "def test_cluster(target):\n    pass\n"
    )

    with_target = project.runpytest("--target", "target.yaml", "--env", "production", "-v")
    with_target.assert_outcomes(passed=1)
    with_target.stdout.fnmatch_lines(["*suites/test_checks.py::test_cluster*PASSED*"])

    own_tests = project.runpytest("-v")
    own_tests.assert_outcomes(passed=1)
    own_tests.stdout.fnmatch_lines(["*tests/test_own.py::test_own PASSED*"])

    named = project.runpytest("tests", "--target", "target.yaml", "--env", "production", "-v")
    named.stdout.fnmatch_lines(["*tests/test_own.py::test_own*"])
