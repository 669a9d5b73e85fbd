"""Secret references read through the one resolver: environment variables and
files (the Kubernetes Secret form is read against the sandbox's API server in
tests/e2e/test_secret_refs.py).

Every value read is masked from then on; a value that cannot be read fails as
one line naming where it was looked for and the fix, never the value."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from gonogo.errors import ConfigError, ProbeError
from gonogo.integrations.secrets import SecretResolver, SecretUnavailable, resolve, resolver_for
from gonogo.model.target import SecretRef, load_target
from gonogo.redact import MASK, redactor

TARGET = """\
name: shop
release: v1.0.0
namespaces: {production: shop}
services: [{name: web}]
environments: {production: {}}
"""


def canary() -> str:
    return f"canary-{secrets.token_hex(8)}"


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_an_env_reference_is_read_and_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    value = canary()
    monkeypatch.setenv("SHOP_API_TOKEN", value)
    assert SecretResolver().resolve(SecretRef(env="SHOP_API_TOKEN")) == value
    assert redactor.text(f"sent {value}") == f"sent {MASK}"


def test_an_unset_variable_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_API_TOKEN", raising=False)
    with pytest.raises(SecretUnavailable) as caught:
        resolve(SecretRef(env="SHOP_API_TOKEN"))
    assert str(caught.value) == (
        "environment variable SHOP_API_TOKEN is not set; export it before the run"
    )
    assert isinstance(caught.value, ProbeError)


def test_a_file_reference_is_relative_to_the_target_file(tmp_path: Path) -> None:
    value = canary()
    (tmp_path / "creds").mkdir()
    secret_file(tmp_path / "creds" / "redis.txt", value + "\n")
    path = tmp_path / "target.yaml"
    path.write_text(
        TARGET + "redis: {url: 'redis://127.0.0.1:1/0', password: {file: creds/redis.txt}}\n"
    )
    target = load_target(path)
    assert target.redis is not None and target.redis.password is not None
    ref = target.redis.password
    assert ref.file == tmp_path / "creds" / "redis.txt"
    assert ref.describe() == f"file {tmp_path / 'creds' / 'redis.txt'}"
    assert resolver_for(target, "production").resolve(ref) == value
    assert redactor.text(f"AUTH {value}") == f"AUTH {MASK}"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_file_others_may_read_is_refused_with_chmod(tmp_path: Path, mode: int) -> None:
    value = canary()
    path = secret_file(tmp_path / "token", value, mode)
    with pytest.raises(SecretUnavailable) as caught:
        resolve(SecretRef(file=path))
    message = str(caught.value)
    assert message == (
        f"file {path} is readable by group or others (mode {mode:o}); run chmod 600 {path}"
    )
    assert value not in message


def test_a_missing_or_empty_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable, match=r"does not exist; create it \(chmod 600\)"):
        resolve(SecretRef(file=tmp_path / "absent"))
    empty = secret_file(tmp_path / "empty", "\n")
    with pytest.raises(SecretUnavailable, match="is empty; write the credential into it"):
        resolve(SecretRef(file=empty))
    with pytest.raises(SecretUnavailable, match="is not a regular file"):
        resolve(SecretRef(file=tmp_path))


def test_a_reference_gives_exactly_one_place(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of env or secret or file"):
        SecretRef.model_validate({"env": "A_TOKEN", "file": "token.txt"})
    path = tmp_path / "target.yaml"
    path.write_text(
        TARGET + "github: {api_url: 'https://api.github.com', repository: a/b, "
        "token: {file: t, env: GH_TOKEN}}\n"
    )
    with pytest.raises(ConfigError, match=r"target.yaml:6: github.token: give exactly one"):
        load_target(path)


def test_a_secret_reference_without_a_cluster_says_how_to_get_one() -> None:
    ref = SecretRef.model_validate({"secret": {"name": "api", "key": "token", "namespace": "shop"}})
    with pytest.raises(SecretUnavailable) as caught:
        SecretResolver().resolve(ref)
    assert str(caught.value) == (
        "Secret shop/api key token: no cluster to read it from here; resolve it with "
        "gonogo.integrations.secrets.resolver_for(target, environment)"
    )


def test_a_secret_reference_without_a_namespace_asks_for_one() -> None:
    ref = SecretRef.model_validate({"secret": {"name": "api", "key": "token"}})
    with pytest.raises(SecretUnavailable, match=r"no namespace to look in; write secret: "):
        SecretResolver(kube=lambda: pytest.fail("no cluster needed")).resolve(ref)


def test_a_webhook_whose_token_cannot_be_read_is_that_webhooks_error(tmp_path: Path) -> None:
    from gonogo.integrations import notify
    from gonogo.model.target import Webhook

    shared = secret_file(tmp_path / "hook-token", canary(), 0o644)
    hook = Webhook.model_validate({"url": "http://127.0.0.1:1/hook", "token": {"file": shared}})
    (delivery,) = notify.send([hook], notify.message("deployment_start", "starting"))
    assert delivery.status is None and not delivery.ok
    assert delivery.error == (
        f"file {shared} is readable by group or others (mode 644); run chmod 600 {shared}"
    )


def test_a_workflow_step_without_its_credential_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gonogo.integrations.http.workflows import run_workflow
    from gonogo.model.target import Workflow

    monkeypatch.delenv("SHOP_API_TOKEN", raising=False)
    workflow = Workflow.model_validate(
        {
            "name": "order",
            "steps": [{"name": "me", "path": "/me", "auth": {"env": "SHOP_API_TOKEN"}}],
        }
    )
    outcome = run_workflow(workflow, "http://127.0.0.1:1")
    (step,) = outcome.steps
    assert step.problem == (
        "step 'me' needs a credential: environment variable SHOP_API_TOKEN is not set; "
        "export it before the run"
    )
