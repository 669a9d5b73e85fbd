"""A measurement the rollback criteria judge must carry their exact name.

The trigger reads ``error_rate`` and ``mean_response_s`` from a failed check's
evidence; a check that wrote ``error-rate`` or ``mean_response_ms`` used to be
recorded as any other figure, and the environment's criteria silently never
saw it. Such near-misses are now refused with the name to use."""

from __future__ import annotations

import pytest
from gonogo.engine.evidence import Evidence
from gonogo.errors import ConfigError


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("error-rate", "error_rate"),
        ("ErrorRate", "error_rate"),
        ("error_ratio", "error_rate"),
        ("mean_response_ms", "mean_response_s"),
        ("mean-response-s", "mean_response_s"),
        ("mean_response", "mean_response_s"),
    ],
)
def test_a_near_miss_of_a_rollback_criterion_is_refused(written: str, meant: str) -> None:
    with pytest.raises(ConfigError, match=f"the rollback criteria read '{meant}'"):
        Evidence().measure(written, 0.3, limit=0.05)


@pytest.mark.parametrize(
    "name",
    [
        "error_rate",
        "mean_response_s",
        "current_error_rate",
        "targets_up_ratio",
        "mean_ms",
        "p95_ms",
        "loki_round_trip_s",
        "free_cpu_share",
    ],
)
def test_exact_and_unrelated_names_are_recorded(name: str) -> None:
    evidence = Evidence()
    evidence.measure(name, 0.01, limit=0.05)
    assert evidence.entries[-1]["content"]["name"] == name


def test_a_check_with_a_misnamed_criterion_fails_with_one_line(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_release="""
        import pytest

        @pytest.mark.item("Service health checks")
        def test_health(evidence):
            evidence.measure("error-rate", 0.3, limit=0.05)
        """
    )
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*evidence.measure('error-rate'): the rollback criteria read 'error_rate'*"]
    )
