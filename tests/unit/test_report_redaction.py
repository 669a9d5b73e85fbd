"""No secret reaches an artifact, the terminal or a log: canaries planted
everywhere a check could see one, then searched for in everything the run wrote."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from gonogo.redact import redactor
from gonogo.report.scrub import scrub

ENV_CANARY = "envCanary-7f3a9c"  # the value of an env var the target marks secret
AUTH_CANARY = "authCanaryTok-88121"  # a bearer token in an Authorization header
URL_CANARY = "urlCanary-31337"  # a password in a URL
SECRET_CANARY = "secretDataCanary-5521"  # a Kubernetes Secret's data value
CANARIES = (
    ENV_CANARY,
    AUTH_CANARY,
    URL_CANARY,
    SECRET_CANARY,
    base64.b64encode(SECRET_CANARY.encode()).decode(),
)

TARGET_SECRET = """

redis:
  url: redis://127.0.0.1:6399/0
  password: {env: SHOP_REDIS_PASSWORD}
"""

SUITE = f"""\
import base64
import logging
import os
import pytest

log = logging.getLogger("shop.checks")
SECRET = {{"kind": "Secret", "metadata": {{"name": "api"}}, "type": "Opaque",
          "data": {{"conn": base64.b64encode(b"{SECRET_CANARY}").decode()}}}}
URL = "https://admin:{URL_CANARY}@db.internal:5432/shop"
HEADERS = {{"Authorization": "Bearer {AUTH_CANARY}", "Accept": "application/json"}}

@pytest.mark.item("Cluster healthy")
def test_cluster(target, evidence):
    password = os.environ["SHOP_REDIS_PASSWORD"]
    evidence.note("redis", f"AUTH {{password}} -> OK")
    evidence.data("request", {{"url": URL, "headers": HEADERS}})
    evidence.data("secret", SECRET)
    evidence.table("conn", [{{"dsn": URL, "pw": password}}])
    evidence.attach("trace.txt", f"Authorization: Bearer {AUTH_CANARY}\\n{{URL}}")
    log.warning("connecting with password %s to %s", password, URL)

@pytest.mark.item("System health check")
def test_health(target, evidence):
    password = os.environ["SHOP_REDIS_PASSWORD"]
    token = "{AUTH_CANARY}"
    print("stdout:", password, URL, "Authorization: Bearer", token)
    log.error("probe failed for %s with Authorization: Bearer %s", URL, token)
    evidence.data("secret", SECRET)
    assert False, f"redis AUTH {{password}} refused at {{URL}} (Authorization: Bearer {{token}})"

@pytest.mark.item("Deploy services")
def test_deploy(target):
    pass

@pytest.mark.item("Rollback to previous version")
def test_skip_reason(target):
    pytest.skip(f"cannot reach {{URL}}")
"""


def test_canaries_reach_no_report_no_terminal_and_no_log(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_REDIS_PASSWORD", ENV_CANARY)
    target = (project.path / "target.yaml").read_text(encoding="utf-8")
    (project.path / "target.yaml").write_text(target + TARGET_SECRET, encoding="utf-8")
    project.makepyfile(test_suite=SUITE)
    result = project.runpytest_subprocess(
        "--target",
        "target.yaml",
        "--env",
        "production",
        "-l",
        "-rA",
        "--alluredir",
        "reports/allure-results",
        "--log-file",
        "reports/run.log",
        "--log-file-level",
        "DEBUG",
        "--log-cli-level",
        "INFO",
        "--showlocals",
    )
    assert result.ret == 1
    terminal = "\n".join(result.outlines + result.errlines)
    assert "Captured stdout call" in terminal and "stdout: ***" in terminal, "the output is shown"
    assert "connecting with password ***" in terminal
    files = [p for p in (project.path / "reports").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"gonogo.html", "checklist.md", "junit-production.xml", "run.log"} <= names
    assert any(n.endswith("-result.json") for n in names)
    assert "***" in (project.path / "reports" / "gonogo.html").read_text(encoding="utf-8")
    for canary in CANARIES:
        assert canary not in terminal, f"{canary} on the terminal"
        for path in files:
            assert canary.encode() not in path.read_bytes(), f"{canary} in {path.name}"


def test_report_scrubbing_reaches_tracebacks_and_sections() -> None:
    redactor.add_secret("scrubCanary-0042")

    class Crash:
        message = "x"

    text = "E   AssertionError: token scrubCanary-0042"
    cleaned = scrub(["ok", ("a", text), {"k": text}])
    assert cleaned == [
        "ok",
        ("a", "E   AssertionError: token ***"),
        {"k": "E   AssertionError: token ***"},
    ]
    assert scrub(Crash()).message == "x"  # not a dataclass: left as it is


def test_log_records_are_redacted_at_creation(caplog: pytest.LogCaptureFixture) -> None:
    from gonogo.report.scrub import Scrubber

    redactor.add_secret("logCanary-9911")
    scrubber = Scrubber()
    scrubber.install_log_redaction()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("t").info("password is %s", "logCanary-9911")
    finally:
        scrubber.uninstall_log_redaction()
    assert caplog.records[0].getMessage() == "password is ***"
    assert "logCanary-9911" not in caplog.text


def test_secret_objects_are_masked_and_their_values_remembered(tmp_path: Path) -> None:
    value = "kubeSecretCanary-7788"
    encoded = base64.b64encode(value.encode()).decode()
    listed = {"metadata": {"name": "db"}, "type": "Opaque", "data": {"dsn": encoded}}
    assert redactor.data(listed)["data"] == {"dsn": "***"}
    assert redactor.text(f"decoded: {value}") == "decoded: ***"
    manifest = {"kind": "Secret", "stringData": {"password": "plainCanary-5566"}}
    assert redactor.data(manifest)["stringData"] == {"password": "***"}
