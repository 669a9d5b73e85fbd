"""A credential kept in a Kubernetes Secret is read by name, so the account a
run needs may get exactly that Secret and no other: the plan, the manifest
(resourceNames) and the preflight's question all name it."""

from __future__ import annotations

from pathlib import Path

import yaml
from gonogo.engine.rbac import preflight
from gonogo.engine.rbac.access import Need, secret_ref_needs
from gonogo.engine.rbac.manifest import render
from gonogo.engine.rbac.plan import AccessPlan
from gonogo.model.target import load_target

TARGET = """\
name: shop
release: v2.0.0
previous_release: v1.0.0
namespaces: {production: shop}
services:
  - {name: web, image: registry.example.test/web}
github:
  api_url: https://api.github.example.test
  repository: shop/web
  token: {secret: {name: release-bot, key: token}}
monitoring:
  grafana_token: {secret: {name: grafana, key: api, namespace: monitoring}}
registry:
  url: https://registry.example.test
  repository_prefix: shop
  auth: {env: REGISTRY_TOKEN}
environments:
  production: {}
"""


def _target(tmp_path: Path):
    path = tmp_path / "target.yaml"
    path.write_text(TARGET)
    return load_target(path)


def test_each_secret_reference_needs_get_on_that_secret_only(tmp_path: Path) -> None:
    needs = secret_ref_needs(_target(tmp_path), "shop")
    assert needs == {
        Need("shop", "", "secrets", "get", "release-bot"),
        Need("monitoring", "", "secrets", "get", "grafana"),
    }


def test_the_manifest_grants_the_named_secret_with_resource_names(tmp_path: Path) -> None:
    plan = AccessPlan("shop")
    plan.add([Need("shop", "", "pods", "list")], "Health checks")
    plan.add(secret_ref_needs(_target(tmp_path), "shop"), "a credential reference")
    docs = [d for d in yaml.safe_load_all(render(plan, "gonogo")) if d]
    roles = {d["metadata"]["namespace"]: d["rules"] for d in docs if d["kind"] == "Role"}
    assert roles["shop"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["release-bot"],
            "verbs": ["get"],
        },
    ]
    assert roles["monitoring"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["grafana"],
            "verbs": ["get"],
        }
    ]


def test_a_named_need_survives_the_plan_s_round_trip_and_reads_by_name() -> None:
    plan = AccessPlan("shop")
    plan.add([Need("shop", "", "secrets", "get", "release-bot")], "why")
    again = AccessPlan.from_json(plan.to_json())
    assert again.needs == plan.needs
    assert again.needs[0].describe() == "get secrets/release-bot in namespace shop"


def test_the_preflight_asks_about_the_named_secret() -> None:
    asked: list[dict] = []

    class Kube:
        def request(self, method, path, body, what=""):
            asked.append(body["spec"]["resourceAttributes"])
            return {"status": {"allowed": True}}

    assert preflight._review(Kube(), Need("shop", "", "secrets", "get", "release-bot"))
    assert asked == [
        {
            "verb": "get",
            "resource": "secrets",
            "group": "",
            "namespace": "shop",
            "name": "release-bot",
        }
    ]
