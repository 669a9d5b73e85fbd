"""Run records: what a run keeps (pytester), the directory store, the
evidence-chain query, the target file's records section, and the running
release a load result is filed under (against real HTTP servers on loopback)."""

from __future__ import annotations

import hashlib
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from gonogo import __version__
from gonogo.errors import ConfigError, ProbeError
from gonogo.fixtures.load import read_running_release
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.records import latest, latest_with_item, open_store
from gonogo.integrations.records.configmaps import ConfigMapStore
from gonogo.integrations.records.directory import DirectoryStore
from gonogo.model.records import ItemRecord, RecordError, RunRecord, from_dict
from gonogo.model.target import load_target

from tests.support.local_http import serving, url_of
from tests.support.mini_project import MINI_TARGET

SUITE = """\
import pytest

@pytest.mark.item("Cluster healthy")
def test_cluster(target, evidence, record_data):
    evidence.measure("free_cpu", 0.4, limit=0.1, ok=True)
    record_data("nodes", {"ready": 3})

@pytest.mark.item("Performance testing", phase="Staging Testing")
def test_staging_perf(target, evidence):
    evidence.measure("error_rate", 0.01, limit=0.05)
    {body}
"""


def _records(project: pytest.Pytester) -> list[dict[str, Any]]:
    directory = project.path / "reports" / "records"
    return [json.loads(p.read_text()) for p in sorted(directory.glob("run-*.json"))]


def test_a_run_keeps_one_record_with_what_it_found(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=SUITE.replace("{body}", "pass"))
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["run record of shop: *reports/records/run-*.json"])
    (record,) = _records(project)
    checklist = (project.path / "checklist.md").read_bytes()
    assert record["target"] == "shop"
    assert record["release"] == "v2.0.0"
    assert record["previous_release"] == "v1.0.0"
    assert record["environment"] == "production"
    assert record["stages"] == ["predeploy", "staging"]
    assert record["phases"] == ["Readiness", "Staging Testing"]
    assert record["go"] is True and record["verdict"].startswith("GO — 2 checks passed")
    assert record["gonogo_version"] == __version__
    assert record["checklist"]["sha256"] == hashlib.sha256(checklist).hexdigest()
    assert record["execute"] is False
    assert record["started"] <= record["finished"]
    items = {i["title"]: i for i in record["items"]}
    assert items["Cluster healthy"]["outcome"] == "passed"
    assert items["Cluster healthy"]["stage"] == "predeploy"
    assert items["Cluster healthy"]["measures"][0]["name"] == "free_cpu"
    assert items["Cluster healthy"]["measures"][0]["value"] == 0.4
    assert items["Cluster healthy"]["data"] == {"nodes": {"ready": 3}}
    assert items["Performance testing"]["stage"] == "staging"
    assert items["Performance testing"]["measures"][0]["limit"] == 0.05
    assert from_dict(record).item("Performance testing", "staging") is not None


def test_a_no_go_run_keeps_its_record_too(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=SUITE.replace("{body}", "assert False, 'p95 4.2 s > 3 s'"))
    result = project.runpytest("--target", "target.yaml", "--env", "staging", "--execute")
    assert result.ret == 1
    (record,) = _records(project)
    assert record["go"] is False and record["verdict"].startswith("NO-GO")
    assert record["environment"] == "staging" and record["execute"] is True
    perf = next(i for i in record["items"] if i["title"] == "Performance testing")
    assert perf["outcome"] == "failed" and "p95 4.2 s > 3 s" in perf["message"]


def test_under_xdist_only_the_controller_keeps_a_record(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project.makepyfile(test_suite=SUITE.replace("{body}", "pass"))
    result = project.runpytest_subprocess("-n", "2", "--target", "target.yaml", "--env", "staging")
    assert result.ret == 0
    (record,) = _records(project)
    assert {i["title"] for i in record["items"]} == {"Cluster healthy", "Performance testing"}


def test_a_run_without_target_keeps_no_record(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_x():\n    pass\n")
    assert project.runpytest().ret == 0
    assert not (project.path / "reports" / "records").exists()


def test_records_path_in_the_target_moves_the_store(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml", target=MINI_TARGET + "records: {store: directory, path: shared/records}\n"
    )
    project.makepyfile(test_suite=SUITE.replace("{body}", "pass"))
    assert project.runpytest("--target", "target.yaml", "--env", "production").ret == 0
    assert len(list((project.path / "shared" / "records").glob("run-*.json"))) == 1


# --------------------------------------------------------------------------- #
# The directory store and the evidence-chain query
# --------------------------------------------------------------------------- #


def test_a_record_its_cluster_store_cannot_take_is_kept_in_the_reports_folder(
    project: pytest.Pytester,
) -> None:
    """The API server is down: the run says so in one line and keeps the
    record in the directory store rather than losing it."""
    project.makefile(
        ".yaml",
        kubeconfig=(
            "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
            "clusters: [{name: down, cluster: {server: 'http://127.0.0.1:1'}}]\n"
            "contexts: [{name: down, context: {cluster: down, user: u}}]\n"
            "users: [{name: u, user: {token: t0k3n-for-test}}]\n"
        ),
    )
    project.makefile(
        ".yaml",
        target=MINI_TARGET
        + "kube: {kubeconfig: kubeconfig.yaml}\n"
        + "records: {store: kubernetes, namespace: gonogo-records}\n",
    )
    project.makepyfile(test_suite=SUITE.replace("{body}", "pass"))
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    result.stdout.fnmatch_lines(
        ["run record of shop NOT kept in its store: *; kept in *records*.json instead;*"]
    )
    assert len(_records(project)) == 1


def _record(
    finished: str,
    *,
    environment: str = "staging",
    release: str = "v1.1.0",
    items: list[ItemRecord] | None = None,
    target: str = "shop",
) -> RunRecord:
    items = items if items is not None else [_item("passed")]
    return RunRecord(
        id=f"{finished}-{environment}-{release}",
        target=target,
        release=release,
        previous_release="v1.0.0",
        environment=environment,
        stages=sorted({i.stage for i in items}),
        phases=[],
        items=items,
        verdict="GO" if all(i.passed for i in items) else "NO-GO",
        go=all(i.passed for i in items),
        started=finished,
        finished=finished,
        gonogo_version=__version__,
        checklist={"path": "docs/checklists.md", "sha256": "0" * 64},
        execute=True,
    )


def _item(outcome: str, title: str = "Performance testing", stage: str = "staging") -> ItemRecord:
    return ItemRecord(
        title=title,
        stage=stage,
        phase="Staging Testing Checklist",
        nodeid=f"suites/x.py::{title}",
        outcome=outcome,
        measures=[{"name": "error_rate", "value": 0.0, "limit": 0.05, "ok": True}],
    )


def test_directory_store_finds_by_target_release_environment_and_stage(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "records")
    older = _record("2026-12-01T10:00:00+00:00")
    newer = _record("2026-12-01T11:00:00+00:00")
    for record in (
        newer,
        older,
        _record("2026-12-01T12:00:00+00:00", environment="production"),
        _record("2026-12-01T12:00:00+00:00", release="v1.2.0"),
        _record("2026-12-01T12:00:00+00:00", target="other"),
    ):
        store.put(record)
    (tmp_path / "records" / "run-broken.json").write_text("{not json")
    (tmp_path / "records" / "run-other.json").write_text('{"release": "v1.1.0"}')
    found = store.find("shop", "v1.1.0", "staging")
    assert [r.id for r in found] == [newer.id, older.id]
    assert found[0] == newer
    assert latest(store, "shop", "v1.1.0", "staging", stage="staging") == newer
    assert latest(store, "shop", "v1.1.0", "staging", stage="predeploy") is None
    assert latest(store, "shop", "v9.9.9", "staging") is None
    assert DirectoryStore(tmp_path / "missing").find("shop", "v1.1.0", "staging") == []


def test_a_production_record_never_answers_for_staging(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put(_record("2026-12-01T12:00:00+00:00", environment="production"))
    found = latest_with_item(
        store,
        target="shop",
        release="v1.1.0",
        environment="staging",
        stage="staging",
        title="Performance testing",
    )
    assert found is None


def test_the_newest_run_of_the_item_decides_and_other_selections_do_not_hide_it(
    tmp_path: Path,
) -> None:
    store = DirectoryStore(tmp_path)
    query = {
        "target": "shop",
        "release": "v1.1.0",
        "environment": "staging",
        "stage": "staging",
        "title": "Performance testing",
    }
    store.put(_record("2026-12-01T10:00:00+00:00", items=[_item("passed")]))
    # a later staging run that ran something else does not hide the result
    other = [_item("passed", title="Functional testing")]
    store.put(_record("2026-12-01T11:00:00+00:00", items=other))
    found = latest_with_item(store, **query)
    assert found is not None and found[1].passed
    # a later run that ran the item and failed it wins over the older pass
    store.put(_record("2026-12-01T12:00:00+00:00", items=[_item("failed")]))
    found = latest_with_item(store, **query)
    assert found is not None and found[1].outcome == "failed"


def test_a_record_file_must_be_a_whole_record(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="missing"):
        from_dict({"id": "x"})
    data = _record("2026-12-01T10:00:00+00:00").to_dict()
    data["schema"] = 99
    with pytest.raises(RecordError, match="upgrade gonogo"):
        from_dict(data)


def test_unwritable_directory_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ProbeError, match=r"records\.path"):
        DirectoryStore(blocker / "records").put(_record("2026-12-01T10:00:00+00:00"))


def test_an_unreachable_cluster_store_is_an_error_naming_what_failed(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {}}]\n"
    )
    kube = KubeClient(kubeconfig=kubeconfig, context="x", timeout=2)
    try:
        with pytest.raises(ProbeError) as raised:
            ConfigMapStore(kube, "gonogo-records").put(_record("2026-12-02T06:00:00+00:00"))
    finally:
        kube.close()
    assert "cannot keep the run record" in str(raised.value)
    assert "cannot reach the API server" in str(raised.value)


# --------------------------------------------------------------------------- #
# The target file's records section
# --------------------------------------------------------------------------- #


def _target(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(MINI_TARGET + extra)
    return path


def test_records_default_to_a_directory_under_the_reports_dir(tmp_path: Path) -> None:
    target = load_target(_target(tmp_path, ""))
    store = open_store(target, tmp_path / "reports")
    assert isinstance(store, DirectoryStore)
    assert store.directory == tmp_path / "reports" / "records"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "records: {store: kubernetes}\n",
            "records.namespace: the kubernetes store needs a namespace, e.g. namespace: "
            "gonogo-records",
        ),
        (
            "records: {store: kubernetes, namespace: recs, path: x}\n",
            "records.path is for the directory store; remove it or set store: directory",
        ),
        (
            "records: {namespace: recs}\n",
            "records.namespace is for the kubernetes store",
        ),
        ("records: {store: s3}\n", "records.store: Input should be 'directory' or 'kubernetes'"),
    ],
)
def test_bad_records_section_names_file_line_and_fix(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = _target(tmp_path, extra)
    with pytest.raises(ConfigError) as raised:
        load_target(path)
    line = len(MINI_TARGET.splitlines()) + 1
    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert message in str(raised.value)


# --------------------------------------------------------------------------- #
# The release the services run (load results are filed under it)
# --------------------------------------------------------------------------- #


def _versions_server(versions: dict[str, str | None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            service = self.path.strip("/").split("/")[0]
            version = versions.get(service)
            body = json.dumps({"service": service, "version": version}).encode()
            self.send_response(200 if version else 503)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _service_target(tmp_path: Path, base_url: str) -> Any:
    services = "\n".join(
        f"  - {{name: {n}, version_path: /{n}/version}}" for n in ("web", "api", "db")
    )
    text = MINI_TARGET.replace(
        "services:\n  - {name: db, tier: data}\n  - {name: api, depends_on: [db]}\n"
        "  - {name: web, depends_on: [api]}\n",
        f"services:\n{services}\ningress: {{base_url: {base_url}}}\n",
    )
    path = tmp_path / "target.yaml"
    path.write_text(text)
    return load_target(path)


def test_one_release_running_everywhere_is_named(tmp_path: Path) -> None:
    with serving(_versions_server({"web": "v2.0.0", "api": "v2.0.0", "db": "v2.0.0"})) as server:
        running = read_running_release(_service_target(tmp_path, url_of(server)), "production")
    assert running.problem() is None
    assert running.release == "v2.0.0"


def test_mixed_versions_say_which_service_runs_which(tmp_path: Path) -> None:
    with serving(_versions_server({"web": "v2.0.0", "api": "v1.0.0", "db": "v1.0.0"})) as server:
        running = read_running_release(_service_target(tmp_path, url_of(server)), "production")
    assert running.release is None
    assert running.problem() == (
        "the services run mixed versions: v2.0.0 (web); v1.0.0 (api, db); finish the rollout "
        "(or roll it back) before measuring, so the result belongs to one release"
    )


def test_a_service_that_does_not_say_its_version_is_no_data(tmp_path: Path) -> None:
    with serving(_versions_server({"web": "v2.0.0", "api": "v2.0.0", "db": None})) as server:
        running = read_running_release(_service_target(tmp_path, url_of(server)), "production")
    assert running.release is None
    problem = str(running.problem())
    assert problem.startswith("no data: the running version of 1 services could not be read")
    assert "db: HTTP 503" in problem
