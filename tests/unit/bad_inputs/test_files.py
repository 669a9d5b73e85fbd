"""Bad target and sign-off files, tried as a user would: ``pytest -m predeploy
--target=FILE --env production [--signoffs FILE]``.

Each refusal is exit 4 with one line naming the file, the line and the fix,
no traceback and no canary. Files that would hang the loader (an alias bomb)
must be refused fast, so those cases are timed; the loader itself is also
timed directly, without a subprocess in the way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gonogo.errors import ConfigError
from gonogo.model.target import load_target
from gonogo.model.yamlsource import MAX_DEPTH, MAX_VALUES, parse_yaml, parse_yaml_documents

from tests.support.clean_failure import assert_clean_failure, run

TARGET = """\
name: matrix
release: v1.1.0
previous_release: v1.0.0
namespaces: {production: shop, staging: shop-staging}
services:
  - {name: api, image: shop-api, health_path: /api/health}
ingress:
  base_url: http://127.0.0.1:1
environments:
  production:
    approval: {required: true, role: change-management}
  staging:
    approval: {required: false, role: ops}
"""
"""A valid target whose every server is a closed loopback port."""


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """``a1: &a1 [*a0, *a0, ...]`` nested ``levels`` deep: a few hundred bytes
    that stand for ``width ** levels`` values."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 40) -> str:
    """Merge keys that double a mapping at each level."""
    lines = ["m0: &m0 {k: v}"]
    for level in range(1, levels + 1):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}]}}")
    return "\n".join(lines) + "\n"


def signoff(**fields: str) -> str:
    now = datetime.now(UTC)
    entry = {
        "item": "Change approval",
        "who": "Dana Ops",
        "role": "change-management",
        "when": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
        "release": "v1.1.0",
        "environment": "production",
        "ticket": "CHG-4711",
        **fields,
    }
    return "\n".join(f"    {key}: {value}" for key, value in entry.items() if value != "-")


def signoffs(*entries: str) -> str:
    return "signoffs:\n" + "\n".join("  -" + entry[3:] for entry in entries) + "\n"


@dataclass(frozen=True)
class Case:
    """A file written as ``content`` (text, bytes, a directory, or nothing)
    and what the refusal must mention; ``{file}`` stands for its path."""

    content: str | bytes | None
    mentions: tuple[str, ...]
    max_seconds: float | None = None
    directory: bool = False


TARGET_CASES = {
    "inline-secret": Case(
        TARGET + "redis: {url: 'redis://127.0.0.1:1/0', password: hunter2-literal}\n",
        ("{file}:14:", "redis.password", "inline secret refused", "{env: REDIS_PASSWORD}"),
    ),
    "password-in-url": Case(
        TARGET + "redis: {url: 'redis://:hunter2-literal@127.0.0.1:1/0'}\n",
        ("{file}:14:", "inline secret refused", "password: {env: REDIS_PASSWORD}"),
    ),
    "unknown-key": Case(
        TARGET + "servces: []\n",
        ("{file}:14:", "servces is not a field", "did you mean 'services'"),
    ),
    "bad-type": Case(
        TARGET.replace("health_path: /api/health", "port: many"),
        ("{file}:6:", "services[0].port", "valid integer"),
    ),
    "missing-file": Case(None, ("--target {file}: no such file; check the path",)),
    "malformed-yaml": Case(
        TARGET + "monitoring: {prometheus: [\n", ("{file}:", "YAML syntax error")
    ),
    "duplicate-key": Case(
        TARGET + "release: v9.9.9\n", ("{file}:14:", "'release' appears twice", "keep one")
    ),
    "tab-indentation": Case(
        TARGET + "monitoring:\n\tprometheus: http://127.0.0.1:1\n",
        ("{file}:15:", "YAML syntax error"),
    ),
    "empty-file": Case("", ("{file}:1:", "is empty", "docs/targets.md")),
    "a-directory": Case(None, ("--target {file}:", "check the path"), directory=True),
    "not-utf8": Case(
        TARGET.encode() + b"description: caf\xe9\n",
        ("{file}:14:", "not UTF-8 text (byte 0xe9)", "save the file as UTF-8"),
    ),
    "unset-variable": Case(
        TARGET.replace("http://127.0.0.1:1", "${GONOGO_MATRIX_UNSET}"),
        ("{file}:8:", "GONOGO_MATRIX_UNSET", "export GONOGO_MATRIX_UNSET or write"),
    ),
    "dependency-cycle": Case(
        TARGET.replace(
            "  - {name: api, image: shop-api, health_path: /api/health}",
            "  - {name: api, depends_on: [db]}\n  - {name: db, depends_on: [api]}",
        ),
        ("{file}:", "dependency cycle: api -> db -> api", "remove one of these depends_on"),
    ),
    "alias-bomb": Case(
        TARGET + alias_bomb(levels=8, width=40),
        ("{file}:", "expands to more than", "remove the alias expansion"),
        max_seconds=30,
    ),
    "merge-key-bomb": Case(
        TARGET + merge_bomb(),
        ("{file}:", "expands to more than", "remove the alias expansion"),
        max_seconds=30,
    ),
    "alias-recursion": Case(
        TARGET + "loop: &loop [*loop]\n", ("{file}:14:", "remove the recursion")
    ),
    "deep-nesting": Case(
        TARGET + "deep: " + "[" * 5000 + "]" * 5000 + "\n",
        ("{file}:14:", "nests more than", "flatten"),
        max_seconds=30,
    ),
}


def _write(case: Case, path: Path) -> None:
    if case.directory:
        path.mkdir()
    elif isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif case.content is not None:
        path.write_text(case.content, encoding="utf-8")


def _mentions(case: Case, path: Path) -> tuple[str, ...]:
    return tuple(text.replace("{file}", str(path)) for text in case.mentions)


@pytest.mark.parametrize("case", list(TARGET_CASES.values()), ids=list(TARGET_CASES))
def test_a_bad_target_file_is_refused_with_its_line_and_fix(case: Case, tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    _write(case, target)
    outcome = run(
        ["pytest", "-m", "predeploy", f"--target={target}", "--env", "production"], tmp_path
    )
    assert_clean_failure(
        outcome, exit_code=4, mentions=_mentions(case, target), max_seconds=case.max_seconds
    )


SIGNOFF_CASES = {
    "duplicate-key": Case(
        signoffs(signoff(item="Change approval") + "\n    item: Team availability"),
        ("{file}:9:", "'item' appears twice (first on line 2)", "keep one"),
    ),
    "item-is-a-list": Case(
        signoffs(signoff(item="[Change approval]")),
        ("{file}:2:", "item: must be text, not a list", 'item: "Change approval"'),
    ),
    "who-is-a-mapping": Case(
        signoffs(signoff(who="{name: Dana Ops}")),
        ("{file}:3:", "who: must be text, not a mapping", "quoted string"),
    ),
    "release-is-a-number": Case(
        signoffs(signoff(release="1.10")),
        ("{file}:6:", "release: must be text", 'release: "1.1"'),
    ),
    "missing-field": Case(signoffs(signoff(who="-")), ("{file}:2:", "sign-off is missing who")),
    "unknown-field": Case(
        signoffs(signoff(approver="Dana")), ("{file}:2:", "unknown field(s) approver", "fields are")
    ),
    "bad-timestamp": Case(
        signoffs(signoff(when="yesterday")),
        ("{file}:5:", "'yesterday' is not a timestamp", "2026-11-27T01:40:00Z"),
    ),
    "not-a-list": Case(
        "signoffs: {item: Change approval}\n",
        ("{file}:1:", "expected a mapping with a 'signoffs:' list"),
    ),
    "missing-file": Case(None, ("--signoffs {file}: no such file; check the path",)),
    "a-directory": Case(None, ("--signoffs {file}:", "check the path"), directory=True),
    "malformed-yaml": Case("signoffs:\n  - item: [\n", ("{file}:", "YAML syntax error")),
    "alias-bomb": Case(
        alias_bomb(levels=8, width=40) + signoffs(signoff()),
        ("{file}:", "expands to more than", "remove the alias expansion"),
        max_seconds=30,
    ),
}


@pytest.mark.parametrize("case", list(SIGNOFF_CASES.values()), ids=list(SIGNOFF_CASES))
def test_a_bad_signoff_file_is_refused_with_its_line_and_fix(case: Case, tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(TARGET, encoding="utf-8")
    file = tmp_path / "signoffs.yaml"
    _write(case, file)
    outcome = run(
        [
            "pytest",
            "-m",
            "predeploy",
            f"--target={target}",
            "--env",
            "production",
            f"--signoffs={file}",
        ],
        tmp_path,
    )
    assert_clean_failure(
        outcome, exit_code=4, mentions=_mentions(case, file), max_seconds=case.max_seconds
    )


# --------------------------------------------------------------------------- #
# The loader, timed without a subprocess
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "text",
    [
        alias_bomb(levels=8, width=9),  # 0.4 kB: took 25 s and 1.2 GB
        alias_bomb(levels=8, width=120),  # 9 kB: still loading after 180 s at 5.7 GB
        alias_bomb(levels=60, width=2),
        merge_bomb(levels=60),
    ],
    ids=["0.4kB-7-levels", "9kB-8-levels", "60-levels-of-two", "merge-keys"],
)
def test_an_alias_bomb_is_refused_in_well_under_a_second(text: str) -> None:
    start = time.monotonic()
    with pytest.raises(ConfigError, match="remove the alias expansion") as refused:
        parse_yaml(text, "bomb.yaml")
    assert time.monotonic() - start < 0.5
    assert f"more than {MAX_VALUES:,} values" in str(refused.value)
    assert refused.value.file == "bomb.yaml" and refused.value.line is not None


def test_the_refusal_names_the_anchor_that_multiplies_the_file() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_yaml(alias_bomb(levels=8, width=9), "bomb.yaml")
    error = refused.value
    assert error.line == 5 and "&a4 stands for 66,430 values" in error.reason


def test_anchors_used_within_the_budget_still_load() -> None:
    text = (
        "defaults: &defaults {approval: {required: true, role: ops}, timeout_s: 5}\n"
        "production: {<<: *defaults, timeout_s: 9}\n"
        "staging: *defaults\n" + alias_bomb(levels=3, width=9)  # 820 values
    )
    data = parse_yaml(text, "ok.yaml").data
    assert data["production"] == {"approval": {"required": True, "role": "ops"}, "timeout_s": 9}
    assert data["staging"]["timeout_s"] == 5
    assert len(data["a3"]) == 9 and data["a3"][0][0][0] == ["lol"] * 9


def test_manifest_streams_are_held_to_the_same_budget() -> None:
    assert parse_yaml_documents("---\na: 1\n---\n---\nb: [1, 2]\n", "m.yaml") == [
        {"a": 1},
        {"b": [1, 2]},
    ]
    start = time.monotonic()
    with pytest.raises(ConfigError, match="remove the alias expansion"):
        parse_yaml_documents("kind: ConfigMap\n---\n" + alias_bomb(), "m.yaml")
    assert time.monotonic() - start < 0.5


def test_nesting_within_the_limit_loads() -> None:
    depth = MAX_DEPTH - 2
    data = parse_yaml("deep: " + "[" * depth + "]" * depth + "\n", "ok.yaml").data
    for _ in range(depth - 1):
        data = data["deep"] if isinstance(data, dict) else data[0]
    assert data == [] or data == [[]]


# --------------------------------------------------------------------------- #
# ca_bundle
# --------------------------------------------------------------------------- #

CA_TARGET = TARGET.replace(
    "  base_url: http://127.0.0.1:1",
    "  base_url: http://127.0.0.1:1\n  tls_hosts:\n    - {host: localhost, port: 1, ca_bundle: ca.pem}",
)


def test_a_missing_ca_bundle_is_refused_when_a_run_loads_the_target(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(CA_TARGET, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_target(target, require_files=True)
    error = refused.value
    assert (error.file, error.line) == (str(target), 10)
    assert error.reason.startswith(
        f"ingress.tls_hosts[0].ca_bundle names {tmp_path / 'ca.pem'}, which does not exist; "
        "fix the path"
    )
    (tmp_path / "ca.pem").mkdir()
    with pytest.raises(ConfigError, match="which is a directory"):
        load_target(target, require_files=True)


def test_a_present_ca_bundle_loads_and_a_description_read_needs_none(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(CA_TARGET, encoding="utf-8")
    assert load_target(target).ingress.tls_hosts[0].ca_bundle == tmp_path / "ca.pem"
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    loaded = load_target(target, require_files=True)
    assert loaded.ingress.tls_hosts[0].ca_bundle == tmp_path / "ca.pem"


def test_a_run_refuses_a_missing_ca_bundle(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text(CA_TARGET, encoding="utf-8")
    outcome = run(
        ["pytest", "-m", "predeploy", f"--target={target}", "--env", "production"], tmp_path
    )
    assert_clean_failure(
        outcome,
        exit_code=4,
        mentions=(f"{target}:10:", "ca_bundle names", "which does not exist", "fix the path"),
    )
