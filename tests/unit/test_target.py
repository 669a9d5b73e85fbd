"""The target file model: the shipped targets, and every way a target can be wrong."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from gonogo.errors import ConfigError
from gonogo.model.target import SecretRef, Step, dotted_get, load_target
from gonogo.model.yamlsource import parse_yaml
from gonogo_sandbox.config import DEFAULT_PORTS, SandboxConfig

ROOT = Path(__file__).resolve().parents[2]
SOPHIA = ROOT / "targets" / "sophia.yaml"
SANDBOX = ROOT / "targets" / "sandbox.yaml"
CHECKLIST = ROOT / "docs" / "checklists.md"

MINIMAL = """\
name: demo
release: v2.0.0
previous_release: v1.9.0
namespaces:
  production: demo
registry:
  url: https://registry.example.com
  repository_prefix: registry.example.com/demo
services:
  - name: db
    tier: data
  - name: api
    image: demo-api
    depends_on: [db]
    health_path: /api/health
  - name: web
    image: demo-web
    depends_on: [api]
ingress:
  base_url: https://demo.example.com
environments:
  production:
    window: {start: "22:00", end: "02:00"}
"""


def write(tmp_path: Path, text: str, name: str = "target.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_target(path)
    assert info.value.file == str(path)
    return info.value


@pytest.fixture(autouse=True)
def _plain_sandbox_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped targets expand ${GONOGO_SANDBOX_DIR:-...}; tests see the default."""
    monkeypatch.delenv("GONOGO_SANDBOX_DIR", raising=False)
    for name in DEFAULT_PORTS:
        monkeypatch.delenv(f"GONOGO_SANDBOX_PORT_{name.upper()}", raising=False)


# --------------------------------------------------------------------------- #
# The shipped targets
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("path", [SOPHIA, SANDBOX], ids=["sophia", "sandbox"])
def test_shipped_target_loads(path: Path) -> None:
    target = load_target(path)
    assert target.source == path
    assert target.release == "v1.1.0"
    assert target.previous_release == "v1.0.0"
    assert set(target.environments) == {"production", "staging", "development"}
    assert target.namespace_for("production") == "sophia"
    assert target.namespace_for("staging") == "sophia-staging"
    assert len(target.services) == 10
    for env in target.environments:
        assert target.base_url_for(env).startswith("http")


def _seed_section(title: str) -> str:
    text = CHECKLIST.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_sophia_dependency_order_follows_the_seed_phases() -> None:
    target = load_target(SOPHIA)
    names = {service.name for service in target.services}
    deployment = _seed_section("Production Deployment Checklist")
    applied = re.findall(r"kubectl apply -f k8s-deploy/manifests/([\w-]+)\.yaml", deployment)
    seed_order = [name for name in applied if name in names]

    assert len(seed_order) == 10
    assert [s.name for s in target.services_in_dependency_order()] == seed_order
    assert [s.name for s in target.reverse_dependency_order()] == seed_order[::-1]


def test_sophia_rollback_order_matches_the_seed_rollback_list() -> None:
    # The seed's list starts with "sonic-ai", a service that exists nowhere else
    # in the checklist; its place (first, before sophia-lambda) is mcp-business's.
    rollback = _seed_section("Rollback Checklist")
    seed = re.findall(r"kubectl rollout undo deployment/([\w-]+) -n sophia\n", rollback)
    seed = ["mcp-business" if name == "sonic-ai" else name for name in seed]
    order = [s.name for s in load_target(SOPHIA).reverse_dependency_order()]
    assert order[: len(seed)] == seed
    assert order[len(seed) :] == ["redis"]


def test_sophia_images_and_timeouts_are_the_seeds() -> None:
    target = load_target(SOPHIA)
    seed = _seed_section("Production Deployment Checklist")
    images = dict(re.findall(r"- \[ \] ([\w-]+): `ghcr\.io/\[repo\]/([\w.:-]+)`", seed))
    assert len(images) == 9
    for name, reference in images.items():
        assert target.image_ref(name) == f"ghcr.io/sophia-ai/{reference}"
    assert [s.name for s in target.release_services()] == list(images)

    timeouts = re.findall(r"--timeout=(\d+)s deployment/([\w-]+) -n sophia", seed)
    checked = 0
    for seconds, name in timeouts:
        if name in {s.name for s in target.services}:
            assert target.service(name).rollout_timeout_s == float(seconds), name
            checked += 1
    assert checked == 10


def test_sophia_environment_policies_are_the_seeds() -> None:
    target = load_target(SOPHIA)
    production = target.environment("production")
    assert production.window.describe() == "02:00-06:00 UTC"
    assert production.window.contains(datetime(2025, 8, 5, 3, 30))
    assert not production.window.contains(datetime(2025, 8, 5, 6, 0))
    assert production.approval.required and production.approval.role == "change-management"
    criteria = target.rollback_criteria("production")
    assert criteria.automatic
    assert criteria.error_rate_max == 0.05 and criteria.mean_response_max_s == 2.0
    assert production.load_profiles["baseline"].duration_s == 300
    assert production.cert_min_days == 14

    staging = target.environment("staging")
    assert staging.window.contains(datetime(2025, 8, 5, 10, 0))  # a Tuesday
    assert not staging.window.contains(datetime(2025, 8, 9, 10, 0))  # a Saturday
    assert staging.approval.role == "technical-lead"
    assert staging.rollback.on_functional_failure

    development = target.environment("development")
    assert development.window.is_any
    assert not development.approval.required
    assert not development.rollback.automatic


def test_sophia_uses_reserved_names_and_references_only() -> None:
    text = SOPHIA.read_text(encoding="utf-8")
    hosts = set(re.findall(r"https?://([^/:\s]+)", text))
    allowed = {"ghcr.io"}  # the registry the seed names; no traffic is ever sent to it
    assert all(h.endswith(".example.com") or h in allowed for h in hosts), hosts
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text)
    target = load_target(SOPHIA)
    assert "GITHUB_TOKEN" in target.secret_env_names()
    assert "HUBSPOT_TOKEN" in target.secret_env_names()


def test_sandbox_points_at_the_sandbox_ports() -> None:
    target = load_target(SANDBOX)
    cfg = SandboxConfig()
    assert target.kube.kubeconfig == cfg.kubeconfig
    assert target.kube.context == cfg.kube_context
    assert target.ingress.base_url == cfg.url("demo")
    assert target.redis is not None and target.redis.url == cfg.url("redis", "redis") + "/0"
    assert target.monitoring.prometheus == cfg.url("prometheus")
    assert target.monitoring.alertmanager == cfg.url("alertmanager")
    assert target.monitoring.grafana == cfg.url("grafana")
    assert target.monitoring.loki == cfg.url("loki")
    assert target.registry is not None and target.registry.url == cfg.url("registry")
    assert target.registry.insecure_http
    assert target.github is not None and target.github.api_url == cfg.url("github")
    apis = {api.name: api.url for api in target.external_apis}
    assert apis == {"github": cfg.url("github"), "hubspot": cfg.url("hubspot")}
    hook = target.environment("production").notification.webhooks[0].url
    assert hook == cfg.url("webhook") + "/hooks/deploy"
    (tls,) = target.ingress.tls_hosts
    assert (tls.host, tls.port, tls.ca_bundle) == (
        "localhost",
        cfg.port("tls"),
        cfg.state_dir / "tls" / "ca.pem",
    )
    assert target.base_url_for("staging") == cfg.url("demo") + "/_ns/sophia-staging"
    assert target.security_scan is not None
    assert target.security_scan.report == ROOT / "sandbox" / "fixtures" / "trivy-v1.1.0.json"
    assert target.manifests_dir == ROOT / "sandbox" / "manifests"
    assert target.secret_env_names() == {
        "GONOGO_SANDBOX_GITHUB_TOKEN",
        "GONOGO_SANDBOX_HUBSPOT_TOKEN",
    }
    for profile in target.environment("production").load_profiles.values():
        assert profile.duration_s <= 10


def test_sandbox_manifests_run_the_previous_release_images() -> None:
    target = load_target(SANDBOX)
    assert target.manifests_dir is not None
    for service in target.services:
        manifest = (target.manifests_dir / f"{service.deployment_name}.yaml").read_text()
        assert target.image_ref(service, target.previous_release) in manifest, service.name


# --------------------------------------------------------------------------- #
# Dependency order
# --------------------------------------------------------------------------- #


def test_ties_keep_file_order(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - name: db\n", "  - name: cache\n  - name: db\n")
    target = load_target(write(tmp_path, text))
    assert [s.name for s in target.services_in_dependency_order()] == ["cache", "db", "api", "web"]
    # A dependency listed later in the file still comes first.
    moved = MINIMAL.replace("  - name: db\n    tier: data\n", "").replace(
        "    depends_on: [api]\n", "    depends_on: [api]\n  - name: db\n"
    )
    target = load_target(write(tmp_path, moved))
    assert [s.name for s in target.services_in_dependency_order()] == ["db", "api", "web"]
    assert [s.name for s in target.reverse_dependency_order()] == ["web", "api", "db"]


def test_a_cycle_is_named(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  - name: db\n    tier: data\n", "  - name: db\n    depends_on: [web]\n"
    )
    error = load_error(tmp_path, text)
    assert "dependency cycle: db -> web -> api -> db" in error.reason
    assert error.line == line_of(text, "depends_on: [web]")


def test_a_self_dependency_is_a_cycle(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("depends_on: [db]", "depends_on: [api]"))
    assert "dependency cycle: api -> api" in error.reason


def test_unknown_depends_on_names_the_services(tmp_path: Path) -> None:
    text = MINIMAL.replace("depends_on: [api]", "depends_on: [apl]")
    error = load_error(tmp_path, text)
    assert error.line == line_of(text, "depends_on: [apl]")
    assert error.reason == (
        "services[2].depends_on[0] names 'apl', which is not a service "
        "(did you mean 'api'?); services are: db, api, web"
    )
    assert str(error) == f"{error.file}:{error.line}: {error.reason}"


def test_duplicate_service_names_are_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - name: web\n", "  - name: api\n")
    error = load_error(tmp_path, text)
    assert "services[2].name: 'api' is already services[1]" in error.reason
    second = [n for n, line in enumerate(text.splitlines(), 1) if line == "  - name: api"][1]
    assert error.line == second


# --------------------------------------------------------------------------- #
# Secrets
# --------------------------------------------------------------------------- #


def test_an_inline_token_is_refused_with_file_and_line(tmp_path: Path) -> None:
    text = MINIMAL + (
        "github:\n  api_url: https://api.github.example.com\n"
        "  repository: demo/demo\n  token: ghp_not_a_real_token\n"
    )
    error = load_error(tmp_path, text)
    assert error.line == line_of(text, "token: ghp_")
    assert error.reason == (
        "github.token: inline secret refused; reference it instead: {env: GITHUB_TOKEN}"
    )
    assert "ghp_not_a_real_token" not in str(error)


def test_an_inline_secret_in_a_list_item_suggests_its_name(tmp_path: Path) -> None:
    text = MINIMAL + (
        "external_apis:\n  - name: hubspot\n    url: https://api.hubapi.example.com\n"
        "    token: pat-not-real\n"
    )
    error = load_error(tmp_path, text)
    assert error.line == line_of(text, "token: pat-not-real")
    assert "{env: HUBSPOT_TOKEN}" in error.reason
    assert "pat-not-real" not in str(error)


@pytest.mark.parametrize(
    ("snippet", "fragment"),
    [
        ("redis:\n  url: redis://:hunter2@cache.example.com:6379/0\n", "hunter2"),
        ("redis:\n  url: redis://cache.example.com:6379/0\n  password: hunter2\n", "password:"),
    ],
    ids=["password-in-url", "password-field"],
)
def test_a_redis_password_must_be_a_reference(tmp_path: Path, snippet: str, fragment: str) -> None:
    text = MINIMAL + snippet
    error = load_error(tmp_path, text)
    assert "inline secret refused" in error.reason
    assert error.line == line_of(text, fragment)
    assert "hunter2" not in str(error)


def test_a_literal_authorization_header_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + (
        "workflows:\n  - name: login\n    steps:\n      - name: me\n        path: /me\n"
        "        headers: {Authorization: Bearer abc.def}\n"
    )
    error = load_error(tmp_path, text)
    assert "headers.Authorization: inline secret refused" in error.reason
    assert "abc.def" not in str(error)


def test_secret_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = MINIMAL + (
        "github:\n  api_url: https://api.github.example.com\n  repository: demo/demo\n"
        "  token: {env: DEMO_GH_TOKEN}\n"
        "monitoring:\n  grafana_token: {secret: {name: grafana, key: token}}\n"
    )
    target = load_target(write(tmp_path, text))
    assert target.secret_env_names() == {"DEMO_GH_TOKEN"}
    assert target.github is not None and target.github.token is not None
    monkeypatch.delenv("DEMO_GH_TOKEN", raising=False)
    assert target.github.token.resolve_env() is None
    monkeypatch.setenv("DEMO_GH_TOKEN", "s3cret")
    assert target.github.token.resolve_env() == "s3cret"
    grafana = target.monitoring.grafana_token
    assert grafana is not None and grafana.resolve_env() is None
    assert grafana.describe() == "Secret grafana key token"
    assert "s3cret" not in repr(target)


def test_a_reference_names_exactly_one_place() -> None:
    with pytest.raises(ValueError, match="exactly one of env or secret"):
        SecretRef.model_validate({})


# --------------------------------------------------------------------------- #
# File-level errors
# --------------------------------------------------------------------------- #


def test_an_unknown_field_is_refused_with_its_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("    health_path: /api/health\n", "    helth_path: /api/health\n")
    error = load_error(tmp_path, text)
    assert error.line == line_of(text, "helth_path")
    assert error.reason.startswith(
        "services[1].helth_path is not a field (did you mean 'health_path'?); allowed here: name,"
    )


def test_a_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("depends_on: [db]", "depends_on: [db")
    error = load_error(tmp_path, text)
    assert error.reason.startswith("YAML syntax error:")
    assert error.line is not None
    assert line_of(text, "[db") <= error.line <= line_of(text, "[db") + 1


def test_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("release: v2.0.0\n", "release: v2.0.0\nrelease: v2.0.1\n")
    error = load_error(tmp_path, text)
    assert error.line == 3
    assert "key 'release' appears twice (first on line 2)" in error.reason


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_target(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text", ["", "- a\n- b\n"], ids=["empty", "list"])
def test_a_file_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    error = load_error(tmp_path, text)
    assert "a target file is a mapping" in error.reason


def test_a_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    text = MINIMAL.replace("  repository_prefix: registry.example.com/demo\n", "")
    error = load_error(tmp_path, text)
    assert error.reason == "registry.repository_prefix is required"
    assert error.line == line_of(text, "registry:")


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = MINIMAL.replace("tier: data", "tier: data\n    port: http").replace(
        "health_path: /api/health", "health_path: api/health"
    )
    error = load_error(tmp_path, text)
    assert error.line == line_of(text, "port: http")
    assert "(got 'http')" in error.reason
    assert f"also line {line_of(text, 'health_path')}: services[1].health_path" in error.reason


def test_an_unquoted_clock_time_is_a_time(tmp_path: Path) -> None:
    text = MINIMAL.replace('{start: "22:00", end: "02:00"}', "{start: 17:00, end: 19:30}")
    window = load_target(write(tmp_path, text)).environment("production").window
    assert window.describe() == "17:00-19:30 UTC"


def test_a_bad_window_says_how_to_write_it(tmp_path: Path) -> None:
    text = MINIMAL.replace('{start: "22:00", end: "02:00"}', '{start: "10pm", end: "02:00"}')
    error = load_error(tmp_path, text)
    assert "window.start: write the time as 'HH:MM' (UTC)" in error.reason


def test_environments_need_namespaces(tmp_path: Path) -> None:
    text = MINIMAL + "  staging:\n    window: any\n"
    error = load_error(tmp_path, text)
    assert "environment 'staging' has no namespace; add namespaces.staging" in error.reason
    assert error.line == line_of(text, "  staging:")


def test_previous_release_must_differ(tmp_path: Path) -> None:
    error = load_error(tmp_path, MINIMAL.replace("v1.9.0", "v2.0.0"))
    assert "previous_release equals release" in error.reason


def test_plain_http_registry_needs_consent(tmp_path: Path) -> None:
    text = MINIMAL.replace("https://registry.example.com", "http://registry.example.com")
    error = load_error(tmp_path, text)
    assert "registry.url is plain http; use https or set insecure_http: true" in error.reason
    text = text.replace("  repository_prefix:", "  insecure_http: true\n  repository_prefix:")
    assert load_target(write(tmp_path, text)).registry is not None


# --------------------------------------------------------------------------- #
# Paths
# --------------------------------------------------------------------------- #


def test_relative_paths_resolve_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = MINIMAL + (
        "manifests_dir: ../deploy/manifests\n"
        "security_scan: {report: scans/trivy.json}\n"
        "release_notes: {path: ./notes/v2.md}\n"
        "kube: {kubeconfig: kube/config}\n"
    )
    path = write(tmp_path, text, "targets/demo.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    target = load_target(path)
    assert target.manifests_dir == tmp_path / "deploy" / "manifests"
    assert target.security_scan is not None
    assert target.security_scan.report == tmp_path / "targets" / "scans" / "trivy.json"
    assert target.release_notes is not None
    assert target.release_notes.path == tmp_path / "targets" / "notes" / "v2.md"
    assert target.kube.kubeconfig == tmp_path / "targets" / "kube" / "config"
    # The run's own output stays relative to the working directory.
    # unset: the run's --reports-dir decides (see the backups_dir fixture)
    assert target.load_results_dir is None
    assert target.backups_dir is None


def test_home_and_variables_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEMO_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("DEMO_UNSET", raising=False)
    text = MINIMAL + (
        "kube: {kubeconfig: ~/.kube/demo}\n"
        "manifests_dir: ${DEMO_STATE}/manifests\n"
        "secrets_dir: ${DEMO_UNSET:-~/secrets}\n"
    )
    target = load_target(write(tmp_path, text))
    assert target.kube.kubeconfig == tmp_path / "home" / ".kube" / "demo"
    assert target.manifests_dir == tmp_path / "state" / "manifests"
    assert target.secrets_dir == tmp_path / "home" / "secrets"


def test_an_unset_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_UNSET", raising=False)
    text = MINIMAL + "manifests_dir: ${DEMO_UNSET}/manifests\n"
    error = load_error(tmp_path, text)
    assert error.reason == (
        "manifests_dir uses ${DEMO_UNSET}, which is not set; "
        "export DEMO_UNSET or write ${DEMO_UNSET:-default}"
    )
    assert error.line == line_of(text, "manifests_dir")


# --------------------------------------------------------------------------- #
# Lookups
# --------------------------------------------------------------------------- #


def test_an_unknown_environment_lists_the_known_ones() -> None:
    target = load_target(SOPHIA)
    with pytest.raises(ConfigError) as info:
        target.environment("prod")
    assert "no environment 'prod'" in info.value.reason
    assert "environments are: production, staging, development" in info.value.reason
    with pytest.raises(ConfigError, match="environments are: production, staging, development"):
        target.namespace_for("qa")


def test_an_unknown_service_lists_the_services() -> None:
    target = load_target(SOPHIA)
    with pytest.raises(ConfigError, match=r"no service 'mcp-contxt' \(did you mean 'mcp-context'"):
        target.service("mcp-contxt")


def test_lookups_for_urls_and_images(tmp_path: Path) -> None:
    target = load_target(write(tmp_path, MINIMAL))
    assert target.health_url("api", "production") == "https://demo.example.com/api/health"
    assert target.health_url("web", "production") is None
    assert target.image_ref("api") == "registry.example.com/demo/demo-api:v2.0.0"
    assert target.image_ref("api", "v1.9.0") == "registry.example.com/demo/demo-api:v1.9.0"
    with pytest.raises(ConfigError, match="'db' has no image"):
        target.image_ref("db")
    with pytest.raises(ConfigError, match="no load profile 'baseline'"):
        target.load_profile("production", "baseline")
    assert target.is_absent("loki", "production")
    assert not target.is_absent("registry", "production")


def test_an_overnight_window(tmp_path: Path) -> None:
    window = load_target(write(tmp_path, MINIMAL)).environment("production").window
    assert window.contains(datetime(2025, 8, 5, 23, 0))
    assert window.contains(datetime(2025, 8, 6, 1, 59))
    assert not window.contains(datetime(2025, 8, 6, 2, 0))
    assert not window.contains(datetime(2025, 8, 6, 12, 0))


# --------------------------------------------------------------------------- #
# Workflows
# --------------------------------------------------------------------------- #


def test_workflow_variables_must_be_saved_first(tmp_path: Path) -> None:
    text = MINIMAL + (
        "workflows:\n  - name: order\n    steps:\n"
        "      - name: create\n        method: post\n        path: /orders\n"
        "        json: {item: 1}\n        save: {order_id: id}\n"
        "      - name: read\n        path: /orders/{order_id}\n"
        "        expect_json: {status: open, 'items.0.sku': '{sku}'}\n"
    )
    error = load_error(tmp_path, text)
    assert "workflows[0].steps[1] uses {sku}, which no earlier step saves" in error.reason
    assert error.line == line_of(text, "- name: read")

    target = load_target(write(tmp_path, text.replace("'{sku}'", "'{release}'")))
    (workflow,) = target.workflows_for("production")
    create, read = workflow.steps
    assert create.method == "POST" and create.body == {"item": 1}
    rendered = read.render({"order_id": 42, "release": "v2.0.0"})
    assert rendered.path == "/orders/42"
    assert rendered.expect_json == {"status": "open", "items.0.sku": "v2.0.0"}


def test_render_keeps_the_type_of_a_whole_placeholder() -> None:
    step = Step.model_validate({"name": "s", "path": "/x", "json": {"n": "{n}", "t": "a{n}"}})
    assert step.render({"n": 3}).body == {"n": 3, "t": "a3"}
    with pytest.raises(ConfigError, match="needs n"):
        step.render({})


def test_dotted_get() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert dotted_get(data, "a.b.1.c") == 2
    with pytest.raises(LookupError, match=r"a\.x: no 'x' at a"):
        dotted_get(data, "a.x")


def test_business_critical_workflows_of_the_sandbox() -> None:
    target = load_target(SANDBOX)
    critical = target.workflows_for("production", business_critical=True)
    assert critical and all(w.business_critical for w in critical)
    assert any(step.path == "/sophia-dashboard/health" for w in critical for step in w.steps)
    assert len(target.workflows_for("production")) > len(critical)


# --------------------------------------------------------------------------- #
# The YAML reader underneath
# --------------------------------------------------------------------------- #


def test_yaml_lines_follow_merges_and_overrides() -> None:
    document = parse_yaml(
        "base: &b\n  users: 5\n  duration_s: 3\nsmoke:\n  <<: *b\n  users: 9\n", "x.yaml"
    )
    assert document.data["smoke"] == {"users": 9, "duration_s": 3}
    assert document.line_of(("smoke", "users")) == 6
    assert document.line_of(("smoke", "duration_s")) == 3
    assert document.line_of(("smoke", "missing", 0)) == 4


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("a: &x [*x]\n", 1, "an alias refers to a node that contains it"),
        ("a: 1\nb: !custom 2\n", 2, "could not determine a constructor"),
        ("a: 1\n---\nb: 2\n", 2, "YAML syntax error"),
    ],
    ids=["recursive-alias", "unknown-tag", "two-documents"],
)
def test_yaml_problems_are_config_errors(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "x.yaml")
    assert info.value.line == line
    assert reason in info.value.reason


def test_a_bad_env_name_is_not_echoed(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  repository_prefix:", "  auth: {env: ghp-looks-like-a-token}\n  repository_prefix:"
    )
    error = load_error(tmp_path, text)
    assert error.reason == (
        "registry.auth.env is not an environment variable name (letters, digits and _)"
    )
    assert "ghp-looks" not in str(error)
