"""Secrets that reach a string some other way than by reference, and the
redactor that must mask them fast.

The docs allow ``${VAR}`` in URLs, so a token can sit in a query string or a
path; the redactor must know its value from the moment the target loads.
Credential-shaped pairs (``access_token=``, ``client_secret=``,
``REDIS_PASSWORD=``, ``hapikey=``) are masked whatever their value. And the
redactor runs over every evidence body and report, so a long line must not
make it hang: those cases carry a loose wall-clock bound.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gonogo.model.target import is_secret_name, load_target
from gonogo.redact import MASK, Redactor, redactor

from tests.support.clean_failure import CANARY, assert_no_canary, run

# --------------------------------------------------------------------------- #
# Credential-shaped text
# --------------------------------------------------------------------------- #

VALUE = "hunter2-Zq8"

MASKED = {
    "access_token-in-query": (
        f"GET https://api.example.com/v1/me?access_token={VALUE}&limit=5",
        f"GET https://api.example.com/v1/me?access_token={MASK}&limit=5",
    ),
    "client_secret-in-form": (
        f"client_id=abc&client_secret={VALUE}",
        f"client_id=abc&client_secret={MASK}",
    ),
    "REDIS_PASSWORD-in-env-dump": (f"REDIS_PASSWORD={VALUE}\n", f"REDIS_PASSWORD={MASK}\n"),
    "hapikey-in-query": (
        f"https://api.hubapi.com/crm/v3?hapikey={VALUE}",
        f"https://api.hubapi.com/crm/v3?hapikey={MASK}",
    ),
    "json-client_secret": (
        f'{{"client_secret": "{VALUE} with spaces", "ok": 1}}',
        f'{{"client_secret": "{MASK}", "ok": 1}}',
    ),
    "json-refresh_token": (f"{{'refresh_token': '{VALUE}'}}", f"{{'refresh_token': '{MASK}'}}"),
    "suffix-_key": (f"SECRET_ACCESS_KEY={VALUE}", f"SECRET_ACCESS_KEY={MASK}"),
    "x-api-key-header": (f"x-api-key: {VALUE}", f"x-api-key: {MASK}"),
    "db_pass": (f"db_pass={VALUE}", f"db_pass={MASK}"),
    "url-password": (f"redis://app:{VALUE}@cache:6379/0", f"redis://app:{MASK}@cache:6379/0"),
    "url-token-as-user": (
        f"https://{VALUE}@github.com/org/repo.git",
        f"https://{MASK}@github.com/org/repo.git",
    ),
    "authorization-header": (f"Authorization: Basic {VALUE}", f"Authorization: {MASK}"),
    "bearer-token": (f"sent bearer {VALUE}xyz", f"sent bearer {MASK}"),
}


@pytest.mark.parametrize(("text", "expected"), list(MASKED.values()), ids=list(MASKED))
def test_credential_shaped_text_is_masked(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


KEPT = {
    "monkey": "monkey=banana",
    "PWD": "PWD=/home/ops",
    "secret-count": "secret_count: 3",
    "email-in-query": "https://host/path?email=dana@example.com",
    "plain-url": "https://api.example.com:8443/v1/health",
}


@pytest.mark.parametrize("text", list(KEPT.values()), ids=list(KEPT))
def test_ordinary_text_is_left_readable(text: str) -> None:
    assert Redactor().text(text) == text


NEAR_MISSES = {
    "one-long-token": "x" * 200_000,
    "schemes-without-userinfo": "a://" * 50_000,
    "userinfo-without-at": "https://u:p" * 20_000,
    "keys-without-values": "access_token=" * 16_000,
    "authorization-then-long-word": "authorization: " + "x" * 200_000,
    "token-words": "token " * 35_000,
    "quoted-keys": '"password"' * 20_000,
    "registered-prefixes": "canary-s3cr3t-7f3a9c1" * 10_000,
}


@pytest.mark.parametrize("text", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_the_redactor_is_linear_on_near_matches(text: str) -> None:
    """A hang case: ``'x' * 40000`` took 24 s before, so a loose bound is asserted."""
    masker = Redactor()
    masker.add_secret(CANARY)
    for n in range(300):
        masker.add_secret(f"registered-secret-{n:04d}")
    start = time.monotonic()
    masker.text(text)
    assert time.monotonic() - start < 2.0


def test_registered_values_are_masked_in_one_pass_longest_first() -> None:
    masker = Redactor()
    masker.add_secret("abcd-1234")
    masker.add_secret("abcd-1234-extended")
    masker.add_secret("tok/en+with=signs")
    text = "a abcd-1234-extended b abcd-1234 c tok%2Fen%2Bwith%3Dsigns d"
    assert masker.text(text) == f"a {MASK} b {MASK} c {MASK} d"


# --------------------------------------------------------------------------- #
# Secrets the target brings in through ${VAR}
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("REDIS_PASSWORD", True),
        ("HUBSPOT_API_KEY", True),
        ("OAUTH_CLIENT_SECRET", True),
        ("GH_PAT", True),
        ("PWD", False),
        ("KEYCLOAK_URL", False),
        ("AUTHOR", False),
    ],
)
def test_a_variable_name_reads_as_a_credential(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


TARGET = """\
name: matrix
release: v1.1.0
previous_release: v1.0.0
kube: {{context: none}}
namespaces: {{production: shop, staging: shop-staging}}
services:
  - {{name: api, image: shop-api, health_path: /api/health, version_path: /api/version}}
{sections}
environments:
  production:
    approval: {{required: false, role: ops}}
  staging:
    approval: {{required: false, role: ops}}
"""


def _target(tmp_path: Path, sections: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(TARGET.format(sections=sections), encoding="utf-8")
    return path


def test_a_secret_named_variable_in_a_url_is_masked_once_the_target_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "inproc-canary-query-5521"
    monkeypatch.setenv("SHOP_GATEWAY_TOKEN", value)
    path = _target(tmp_path, "ingress: {base_url: 'http://127.0.0.1:1/gw?t=${SHOP_GATEWAY_TOKEN}'}")
    url = load_target(path).ingress.base_url
    assert url is not None and value in url
    assert value not in redactor.text(f"GET {url}/api/health failed")


def test_a_variable_the_target_references_as_a_secret_is_masked_in_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "inproc-canary-ref-7741"
    monkeypatch.setenv("SHOP_DSN_PART", value)
    path = _target(
        tmp_path,
        "redis: {url: 'redis://127.0.0.1:1/0', password: {env: SHOP_DSN_PART}}\n"
        "monitoring: {prometheus: 'http://127.0.0.1:1/${SHOP_DSN_PART}'}",
    )
    url = load_target(path).monitoring.prometheus
    assert url is not None and redactor.text(url) == f"http://127.0.0.1:1/{MASK}"


def test_a_resolved_reference_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from gonogo.model.target import SecretRef

    value = "inproc-canary-resolved-9132"
    monkeypatch.setenv("SHOP_WEBHOOK_SIGNING", value)
    assert SecretRef(env="SHOP_WEBHOOK_SIGNING").resolve_env() == value
    assert redactor.text(f"signed with {value}") == f"signed with {MASK}"


LEAKS = {
    "token-in-a-query": (
        "ingress: {base_url: 'http://127.0.0.1:1'}\n"
        "external_apis:\n  - {name: gateway, url: 'http://127.0.0.1:1/gw?access=${GONOGO_CANARY_TOKEN}'}",
    ),
    "api-key-in-external-api-path": (
        "ingress: {base_url: 'http://127.0.0.1:1'}\n"
        "external_apis:\n  - {name: hubspot, url: 'http://127.0.0.1:1/hub/${HUBSPOT_API_KEY}/v3'}",
    ),
    "password-in-monitoring-url": (
        "ingress: {base_url: 'http://127.0.0.1:1'}\n"
        "monitoring: {prometheus: 'http://127.0.0.1:1/prom/${REDIS_PASSWORD}'}",
    ),
    "userinfo-from-a-plain-variable": (
        "ingress: {base_url: 'http://127.0.0.1:1'}\n"
        "monitoring: {prometheus: 'http://${GONOGO_MATRIX_USERINFO}@127.0.0.1:1/prom'}",
    ),
}


@pytest.mark.parametrize("sections", [v[0] for v in LEAKS.values()], ids=list(LEAKS))
def test_a_secret_in_a_url_reaches_no_output_and_no_report(sections: str, tmp_path: Path) -> None:
    target = _target(tmp_path, sections)
    outcome = run(
        ["pytest", "-m", "predeploy", f"--target={target}", "--env", "production", "--no-gate"],
        tmp_path,
        env={"GONOGO_MATRIX_USERINFO": CANARY},
    )
    assert outcome.exit_code == 1, outcome.output[-3000:]
    assert "NO-GO" in outcome.output and MASK in outcome.output
    assert (outcome.reports / "checklist.md").is_file()
    assert_no_canary(outcome)
