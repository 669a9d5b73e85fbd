"""Kubernetes Secret references read through the target's cluster client,
against the sandbox's real API server.

Each test writes a target whose kube section names the sandbox and whose one
environment lives in a namespace of its own (``fresh_namespace``), creates the
Secret there, and reads it the way every client of gonogo does
(``gonogo.integrations.secrets``)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from gonogo.integrations.secrets import SecretResolver, SecretUnavailable, resolver_for
from gonogo.model.target import SecretRef, Target, load_target
from gonogo.redact import MASK, redactor
from gonogo_sandbox.config import SandboxConfig
from kubernetes import client as k8s


@pytest.fixture
def value() -> str:
    return f"e2e-secret-{secrets.token_hex(8)}"


@pytest.fixture
def shop_target(tmp_path: Path, sandbox_running: SandboxConfig, fresh_namespace: str) -> Target:
    path = tmp_path / "target.yaml"
    path.write_text(
        "name: secrets\nrelease: v1.0.0\n"
        f"kube: {{kubeconfig: '{sandbox_running.kubeconfig}', "
        f"context: {sandbox_running.kube_context}}}\n"
        f"namespaces: {{production: {fresh_namespace}}}\n"
        "services: [{name: web}]\n"
        "environments: {production: {}}\n"
        "redis: {url: 'redis://127.0.0.1:1/0', password: {secret: {name: shop-redis, key: password}}}\n"
    )
    return load_target(path)


@pytest.fixture
def shop_secret(api_client: k8s.ApiClient, fresh_namespace: str, value: str) -> str:
    """The Secret ``shop-redis`` with keys ``password`` and ``user``."""
    encoded = {
        "password": base64.b64encode(value.encode()).decode(),
        "user": base64.b64encode(b"shop").decode(),
    }
    k8s.CoreV1Api(api_client).create_namespaced_secret(
        fresh_namespace,
        k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="shop-redis"), data=encoded),
        _request_timeout=10,
    )
    return "shop-redis"


@pytest.fixture
def resolver(shop_target: Target) -> Iterator[SecretResolver]:
    with resolver_for(shop_target, "production") as made:
        yield made


def ref(name: str, key: str, namespace: str | None = None) -> SecretRef:
    return SecretRef.model_validate({"secret": {"name": name, "key": key, "namespace": namespace}})


def test_a_secret_in_the_environments_namespace_is_read_and_masked(
    shop_target: Target, resolver: SecretResolver, shop_secret: str, value: str
) -> None:
    redis = shop_target.redis
    assert redis is not None and redis.password is not None
    assert resolver.resolve(redis.password) == value
    assert redactor.text(f"AUTH {value}") == f"AUTH {MASK}"


def test_a_secrets_own_namespace_wins_over_the_environments(
    shop_target: Target, shop_secret: str, fresh_namespace: str, value: str
) -> None:
    with resolver_for(shop_target, None) as anywhere:
        assert anywhere.resolve(ref(shop_secret, "password", fresh_namespace)) == value


def test_a_missing_key_is_one_line_naming_the_secret_the_keys_and_the_fix(
    resolver: SecretResolver, shop_secret: str, fresh_namespace: str, value: str
) -> None:
    with pytest.raises(SecretUnavailable) as caught:
        resolver.resolve(ref(shop_secret, "pasword"))
    message = str(caught.value)
    assert message == (
        f"Secret {fresh_namespace}/shop-redis key pasword: the Secret has no key 'pasword' "
        "(keys: password, user); fix secret.key in the target or add the key: "
        f"kubectl -n {fresh_namespace} patch secret shop-redis ..."
    )
    assert "\n" not in message and value not in message


def test_a_missing_secret_is_one_line_naming_it_and_how_to_create_it(
    resolver: SecretResolver, fresh_namespace: str
) -> None:
    with pytest.raises(SecretUnavailable) as caught:
        resolver.resolve(ref("absent", "token"))
    assert str(caught.value) == (
        f"Secret {fresh_namespace}/absent key token: no Secret 'absent' in namespace "
        f"{fresh_namespace!r}; create it (kubectl -n {fresh_namespace} create secret generic "
        "absent --from-literal=token=...) or fix secret.name/namespace in the target"
    )
