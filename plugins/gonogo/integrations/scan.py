"""Vulnerability scanner reports (Trivy JSON, SARIF) as one list of findings.

The pre-deploy gate does not scan images itself: the release pipeline's
scanner already did, and its report is the record an approver trusts. This
module reads that report in either format into the same ``Finding`` rows, so
the check judges severities the same way whichever scanner wrote it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gonogo.errors import ProbeError

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    target: str
    """The scanned artifact, e.g. ``registry/image:tag (debian 12.8)``."""
    package: str
    title: str

    def row(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": self.severity,
            "target": self.target,
            "package": self.package,
            "title": self.title,
        }


@dataclass(frozen=True)
class ScanReport:
    path: Path
    format: str
    targets: list[str]
    """Every artifact the report says it scanned (findings or not)."""
    findings: list[Finding]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts

    def covers(self, image_ref: str) -> bool:
        """Whether some scanned artifact is ``image_ref`` (tag or digest form)."""
        return any(t == image_ref or t.startswith(image_ref + " ") for t in self.targets)


def load(path: Path, fmt: str) -> ScanReport:
    """Parse the report at ``path`` as ``fmt`` ("trivy" or "sarif")."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ProbeError(
            f"scan report {path} does not exist; run the scanner (e.g. trivy image "
            f"--format json -o {path.name} ...) or fix security_scan.report in the target"
        ) from e
    except (OSError, ValueError) as e:
        raise ProbeError(f"scan report {path} is not readable JSON: {e}") from e
    try:
        if fmt == "sarif":
            return _sarif(path, data)
        return _trivy(path, data)
    except (KeyError, TypeError, AttributeError) as e:
        raise ProbeError(
            f"scan report {path} is not a {fmt} report (missing {e}); check security_scan.format"
        ) from e


def _trivy(path: Path, data: dict[str, Any]) -> ScanReport:
    if "Results" not in data:
        raise KeyError("Results")
    targets: list[str] = []
    findings: list[Finding] = []
    for result in data["Results"] or []:
        target = str(result["Target"])
        targets.append(target)
        for vuln in result.get("Vulnerabilities") or []:
            findings.append(
                Finding(
                    id=str(vuln["VulnerabilityID"]),
                    severity=_severity(vuln.get("Severity")),
                    target=target,
                    package=f"{vuln.get('PkgName', '')}@{vuln.get('InstalledVersion', '')}",
                    title=str(vuln.get("Title") or ""),
                )
            )
    return ScanReport(path, "trivy", targets, findings)


def _sarif(path: Path, data: dict[str, Any]) -> ScanReport:
    targets: list[str] = []
    findings: list[Finding] = []
    for run in data["runs"]:
        rules = {rule["id"]: rule for rule in run["tool"]["driver"].get("rules") or []}
        for artifact in run.get("artifacts") or []:
            targets.append(str(artifact["location"]["uri"]))
        for result in run.get("results") or []:
            rule = rules.get(result.get("ruleId"), {})
            where = (result.get("locations") or [{}])[0]
            uri = str(where.get("physicalLocation", {}).get("artifactLocation", {}).get("uri", ""))
            if uri and uri not in targets:
                targets.append(uri)
            findings.append(
                Finding(
                    id=str(result.get("ruleId", "")),
                    severity=_sarif_severity(rule, result),
                    target=uri,
                    package=str(where.get("message", {}).get("text", "")).split(": ")[-1],
                    title=str(rule.get("shortDescription", {}).get("text", "")),
                )
            )
    return ScanReport(path, "sarif", targets, findings)


def _severity(value: Any) -> str:
    text = str(value or "UNKNOWN").upper()
    return text if text in SEVERITIES else "UNKNOWN"


def _sarif_severity(rule: dict[str, Any], result: dict[str, Any]) -> str:
    """Trivy puts the severity in the rule's tags; other tools give a CVSS
    ``security-severity`` score, mapped as NVD does; ``level`` is the fallback."""
    properties = rule.get("properties") or {}
    for tag in properties.get("tags") or []:
        if str(tag).upper() in SEVERITIES[1:]:
            return str(tag).upper()
    score = properties.get("security-severity")
    if score is not None:
        value = float(score)
        if value >= 9.0:
            return "CRITICAL"
        if value >= 7.0:
            return "HIGH"
        if value >= 4.0:
            return "MEDIUM"
        return "LOW" if value > 0 else "UNKNOWN"
    level = result.get("level") or rule.get("defaultConfiguration", {}).get("level")
    return {"error": "HIGH", "warning": "MEDIUM", "note": "LOW"}.get(str(level), "UNKNOWN")
