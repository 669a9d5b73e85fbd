"""Unit tests of the file-reading probes: load results, scan reports, backups,
and the configuration scans."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from gonogo.errors import ProbeError
from gonogo.integrations import scan
from gonogo.integrations.kubernetes import backup, config_scan
from gonogo.model import loadresult


def _result(
    started: datetime, environment: str = "production", **kw: object
) -> loadresult.LoadRecord:
    values: dict[str, object] = dict(
        release="v1.1.0",
        environment=environment,
        profile="smoke",
        started=started.isoformat(),
        duration_s=3.0,
        users=5,
        requests=100,
        failures=1,
        error_rate=0.01,
        mean_ms=20.0,
        p95_ms=40.0,
        rps=33.3,
        history=[{"t_s": 1.0, "rps": 33.0}],
    )
    values.update(kw)
    return loadresult.LoadRecord(**values)  # type: ignore[arg-type]


def test_load_result_round_trips_and_latest_wins(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    loadresult.write(tmp_path, _result(now - timedelta(hours=1), mean_ms=99.0))
    newest = loadresult.write(tmp_path, _result(now))
    loadresult.write(tmp_path, _result(now + timedelta(hours=1), environment="staging"))
    (tmp_path / "load-broken.json").write_text("{not json")
    found = loadresult.latest(tmp_path, "v1.1.0", "production")
    assert found is not None
    assert found[0] == newest
    assert found[1].mean_ms == 20.0
    assert found[1] == loadresult.read(newest)
    assert loadresult.read_latest(tmp_path, "v9.9.9", "production") is None


def test_load_result_shape_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing duration_s, .*p95_ms"):
        loadresult.from_dict({k: 1 for k in ("release", "environment", "profile", "started")})
    bad = tmp_path / "load-x.json"
    bad.write_text(json.dumps({"release": "v1"}))
    with pytest.raises(ValueError, match="not a load result"):
        loadresult.read(bad)


FIXTURES = Path(__file__).resolve().parents[2] / "sandbox" / "fixtures"


@pytest.mark.parametrize(
    "fmt, name", [("trivy", "trivy-v1.1.0.json"), ("sarif", "trivy-v1.1.0.sarif")]
)
def test_scan_reports_read_alike(fmt: str, name: str) -> None:
    report = scan.load(FIXTURES / name, fmt)
    counts = report.counts()
    assert counts["CRITICAL"] == 0 and counts["LOW"] > 0 and counts["MEDIUM"] > 0
    assert report.covers("127.0.0.1:15000/sophia-mcp-research:v1.1.0")
    assert not report.covers("127.0.0.1:15000/sophia-mcp-research:v9.9.9")


def test_sarif_severity_from_score_when_no_tag(tmp_path: Path) -> None:
    sarif = {
        "runs": [
            {
                "tool": {
                    "driver": {"rules": [{"id": "X-1", "properties": {"security-severity": "9.8"}}]}
                },
                "results": [
                    {
                        "ruleId": "X-1",
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "img:1"}}}],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "r.sarif"
    path.write_text(json.dumps(sarif))
    report = scan.load(path, "sarif")
    assert [f.severity for f in report.findings] == ["CRITICAL"]


def test_missing_scan_report_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="does not exist; run the scanner"):
        scan.load(tmp_path / "none.json", "trivy")


def _write_backup(
    directory: Path, when: datetime, items: list[dict[str, object]], mode: int
) -> Path:
    path = directory / f"pre-deployment-{when:%Y%m%d-%H%M%S}.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    os.chmod(path, mode)
    return path


def test_newest_backup_by_name_and_parsed(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "7"},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "ownerReferences": [{"kind": "ReplicaSet"}]},
    }
    _write_backup(tmp_path, now - timedelta(days=2), [cm], 0o600)
    newest = _write_backup(tmp_path, now - timedelta(hours=1), [cm, pod], 0o644)
    (tmp_path / "notes.yaml").write_text("x: 1")
    assert backup.newest(tmp_path) == newest
    read = backup.read(newest)
    assert read.kinds() == {"ConfigMap": 1, "Pod": 1}
    assert read.mode == 0o644
    assert 0.9 < read.age_hours() < 1.1
    assert backup.owned(pod) and not backup.owned(cm)
    assert "resourceVersion" not in backup.restorable(cm)["metadata"]


def test_backup_that_is_not_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pre-deployment-20260101-000000.yaml"
    path.write_text(yaml.safe_dump([{"kind": "ConfigMap"}]))
    with pytest.raises(ProbeError, match="not a Kubernetes object"):
        backup.read(path)


def test_secret_backup_is_restored_without_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"k": "sha256:abc"},
    }
    assert "data" not in backup.restorable(secret)


@pytest.mark.parametrize(
    "key, value, found",
    [
        ("DB_PASSWORD", "hunter2", True),
        ("API_KEY", "${API_KEY}", False),
        ("TOKEN_FILE", "/run/secrets/token", False),
        ("LOG_LEVEL", "info", False),
        ("DATABASE_URL", "postgres://app:s3cret@db:5432/app", True),
        ("NOTE", "-----BEGIN RSA PRIVATE KEY-----", True),
        ("AUTH_ENABLED", "true", False),
    ],
)
def test_plaintext_secret_scan(key: str, value: str, found: bool) -> None:
    assert (config_scan.scan_value(key, value) is not None) is found


def test_scan_never_reports_the_value() -> None:
    findings = config_scan.scan_objects(
        "ns", [{"metadata": {"name": "c"}, "data": {"DB_PASSWORD": "hunter2"}}], "ConfigMap"
    )
    assert findings and "hunter2" not in json.dumps([f.row() for f in findings])
    assert (
        config_scan.scan_objects(
            "ns", [{"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "x"}}]
        )
        == []
    )


def test_foreign_environment_values() -> None:
    tells = {
        "staging": {
            config_scan.Tell("name", "staging"),
            config_scan.Tell("namespace", "sophia-staging"),
            config_scan.Tell("host", "staging.example.com"),
        }
    }
    data = {
        "ENVIRONMENT": "staging",
        "FEATURE_FLAGS": "staging-banner",
        "REDIS_HOST": "redis.sophia-staging.svc.cluster.local",
        "API": "https://staging.example.com/v1",
        "OTHER": "https://prod.example.com",
    }
    found = {f.key for f in config_scan.foreign_values("cm", data, tells)}
    assert found == {"ENVIRONMENT", "REDIS_HOST", "API"}
