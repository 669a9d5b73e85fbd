"""The deploy stage's probes against local objects and servers: backups,
diffs, the release's manifests, registry HEADs and webhook notifications."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from gonogo.integrations import notify
from gonogo.integrations.kubernetes import backup_writer, release
from gonogo.integrations.kubernetes.changes import contains, diff
from gonogo.integrations.registry import ImageRef, RegistryClient
from gonogo.model.target import Webhook, load_target

from tests.support.local_http import serving, url_of

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "db",
        "uid": "x",
        "resourceVersion": "7",
        "managedFields": [{}],
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": '{"password": "hunter2"}'
        },
    },
    "data": {"password": base64.b64encode(b"hunter2").decode()},
}
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"A": "1"}}


def test_backup_is_0600_complete_and_holds_digests_not_secrets(tmp_path: Path) -> None:
    backup = backup_writer.write([SECRET, CONFIG], tmp_path, keep_secrets=False)
    text = backup.path.read_text()
    assert backup.path.name.startswith("pre-deployment-") and backup.path.suffix == ".yaml"
    assert backup.path.stat().st_mode & 0o777 == 0o600
    assert "hunter2" not in text and "aHVudGVyMg" not in text and "sha256:" in text
    assert "managedFields" not in text
    assert backup_writer.read_back(backup) == []
    assert [p.name for p in tmp_path.iterdir()] == [backup.path.name]  # no temporary left


def test_backup_with_secrets_keeps_values(tmp_path: Path) -> None:
    backup = backup_writer.write([SECRET], tmp_path, keep_secrets=True)
    assert base64.b64encode(b"hunter2").decode() in backup.path.read_text()
    assert backup_writer.read_back(backup) == []


def test_read_back_finds_a_missing_object_and_a_wrong_mode(tmp_path: Path) -> None:
    backup = backup_writer.write([CONFIG], tmp_path, keep_secrets=False)
    backup.resources.append("ConfigMap/other")
    backup.path.chmod(0o644)
    problems = backup_writer.read_back(backup)
    assert any("mode is 644" in p for p in problems)
    assert any("missing ConfigMap/other" in p for p in problems)


def test_diff_names_changed_fields_and_hides_secret_values() -> None:
    before = {"metadata": {"name": "a", "resourceVersion": "1"}, "spec": {"image": "x:v1"}}
    after = {"metadata": {"name": "a", "resourceVersion": "2"}, "spec": {"image": "x:v2"}}
    assert diff(before, after) == ["spec.image: x:v1 -> x:v2"]
    assert diff({"data": {"p": "a"}}, {"data": {"p": "b"}}, secret=True) == ["data.p: changed"]


def test_contains_proves_live_holds_what_was_applied() -> None:
    applied = {"spec": {"replicas": 2, "ports": [{"port": 80}]}}
    live = {"spec": {"replicas": 2, "ports": [{"port": 80, "protocol": "TCP"}], "extra": 1}}
    assert contains(live, applied) == []
    assert contains({"spec": {"replicas": 3, "ports": [{"port": 80}]}}, applied) == [
        "spec.replicas"
    ]


def test_release_manifests_follow_the_documented_commands(tmp_path: Path) -> None:
    commands = [
        "kubectl apply -f k8s-deploy/manifests/web.yaml\nkubectl apply -f k8s-deploy/secrets/\n"
        "kubectl wait --for=condition=available --timeout=120s deployment/web -n x"
    ]
    paths = release.manifest_paths(commands, tmp_path / "m", tmp_path / "s")
    assert paths == [tmp_path / "m" / "web.yaml", tmp_path / "s"]
    assert release.wait_timeouts(commands) == {"web": 120.0}


def test_release_images_are_set_for_release_services_only() -> None:
    target = load_target("targets/sandbox.yaml")
    docs = [
        {
            "kind": "Deployment",
            "metadata": {"name": "mcp-research"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "mcp-research",
                                "image": "127.0.0.1:15000/sophia-mcp-research:v1.0.0",
                            }
                        ]
                    }
                }
            },
        },
        {
            "kind": "Deployment",
            "metadata": {"name": "grafana"},
            "spec": {
                "template": {"spec": {"containers": [{"name": "g", "image": "grafana/grafana:11"}]}}
            },
        },
    ]
    changes = release.set_release_images(docs, target)
    assert changes == [
        "mcp-research: 127.0.0.1:15000/sophia-mcp-research:v1.0.0 -> "
        "127.0.0.1:15000/sophia-mcp-research:v1.1.0"
    ]
    assert release.images_in(docs)[1] == "grafana/grafana:11"


class _Handler(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_HEAD(self) -> None:
        if self.path == "/v2/team/web/manifests/v1":
            self.send_response(200)
            self.send_header("Docker-Content-Digest", "sha256:" + "a" * 64)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Handler.received.append({"auth": self.headers.get("Authorization"), **json.loads(body)})
        self.send_response(204 if self.path == "/ok" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with serving(_Handler) as httpd:
        yield url_of(httpd)


def test_registry_head_answers_digest_or_the_missing_tag(server: str) -> None:
    host = server.removeprefix("http://")
    with RegistryClient(server) as client:
        found, missing = client.head_all([f"{host}/team/web:v1", f"{host}/team/web:v9"])
    assert found.exists and found.digest == "sha256:" + "a" * 64
    assert not missing.exists and missing.status == 404 and "push it" in (missing.error or "")


def test_image_ref_parsing() -> None:
    ref = ImageRef.parse("127.0.0.1:15000/sophia-web:v1.1.0")
    assert (ref.registry, ref.repository, ref.tag) == ("127.0.0.1:15000", "sophia-web", "v1.1.0")
    assert ImageRef.parse("grafana/loki:3.1.0").registry == "docker.io"


def test_notify_posts_json_and_records_each_answer(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_TOKEN", "tok-123")
    _Handler.received.clear()
    hooks = [
        Webhook(url=f"{server}/ok", token={"env": "NOTIFY_TOKEN"}, timeout_s=2),
        Webhook(url=f"{server}/broken", timeout_s=2),
    ]
    deliveries = notify.send(hooks, notify.message("deployment_start", "starting", release="v2"))
    assert [d.ok for d in deliveries] == [True, False]
    assert deliveries[1].error == "answered 500"
    assert _Handler.received[0]["auth"] == "Bearer tok-123"
    assert _Handler.received[0]["release"] == "v2" and _Handler.received[0]["text"] == "starting"
    assert "tok-123" not in json.dumps([d.row() for d in deliveries])
    assert yaml.safe_dump(deliveries[0].row())
