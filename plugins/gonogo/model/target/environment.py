"""The policy of one environment: when a release may go out and what it must meet.

Production, staging and development describe the same system with different
rules: a deployment window, who approves, who is told, what trips a rollback,
the load a release must carry and the limits the checks apply. Those rules
live here, apart from the sections that say where the systems are.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gonogo.model.target.values import (
    FieldProblem,
    Fraction,
    HttpUrl,
    Seconds,
    SecretRef,
    StrictModel,
)

_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")

SEVERITIES: tuple[str, ...] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Scanner severities, lowest first; a limit blocks findings at or above it."""

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _window_input(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() == "any":
            return {}
        raise PydanticCustomError("window", "write 'any' or {start: 'HH:MM', end: 'HH:MM'} (UTC)")
    return value


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError("clock", "write the time as 'HH:MM' (UTC), e.g. '02:00'")
    return time(int(match.group(1)), int(match.group(2)))


def _weekdays(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    days = []
    for day in value:
        short = str(day).strip().lower()[:3]
        if short not in WEEKDAYS:
            raise PydanticCustomError(
                "weekday", f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}"
            )
        days.append(short)
    return days


Clock = Annotated[time, BeforeValidator(_clock)]


class Window(StrictModel):
    """When a deployment may start, in UTC. No start and end means any time."""

    start: Clock | None = None
    end: Clock | None = None
    days: Annotated[list[str], BeforeValidator(_weekdays)] = Field(
        default_factory=lambda: list(WEEKDAYS)
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _window_input(data)

    @model_validator(mode="after")
    def _both_ends(self) -> Window:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or write 'any'")
        if self.start is not None and self.start == self.end:
            raise ValueError("start and end are equal; write 'any' for no limit")
        return self

    @property
    def is_any(self) -> bool:
        return self.start is None and len(self.days) == len(WEEKDAYS)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` (naive means UTC) falls inside the window.

        A window that ends before it starts runs overnight; its day is the day
        it started on."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        now, day = moment.time(), WEEKDAYS[moment.weekday()]
        if self.start is None or self.end is None:
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        if now >= self.start:
            return day in self.days
        yesterday = WEEKDAYS[(moment - timedelta(days=1)).weekday()]
        return now < self.end and yesterday in self.days

    def describe(self) -> str:
        days = "" if len(self.days) == len(WEEKDAYS) else " " + ",".join(self.days)
        if self.start is None or self.end is None:
            return "any time" + (f" on{days}" if days else "")
        return f"{self.start:%H:%M}-{self.end:%H:%M} UTC{days}"


class Approval(StrictModel):
    required: bool = False
    role: str = "self-service"
    """Who approves: change-management, technical-lead, self-service."""
    self_approval: bool = False
    """Whether the person who runs the release may also sign off its manual
    items. Off by default: where approval is required, it takes four eyes."""


class Webhook(StrictModel):
    url: HttpUrl
    token: SecretRef | None = None
    timeout_s: Seconds = 5.0


class Notification(StrictModel):
    audience: list[str] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)


class RollbackCriteria(StrictModel):
    automatic: bool = False
    """Whether a trip rolls back by itself (with ``--rollback=auto``)."""
    error_rate_max: Fraction | None = None
    mean_response_max_s: Seconds | None = None
    on_functional_failure: bool = False
    """Any failed functional check is a trip."""
    description: str = ""


class LoadThresholds(StrictModel):
    error_rate_max: Fraction | None = None
    mean_ms_max: Seconds | None = None
    p95_ms_max: Seconds | None = None
    rps_min: float | None = Field(default=None, ge=0)


class LoadProfile(StrictModel):
    """One load run: how many users, for how long, on which paths, judged how."""

    users: int = Field(ge=1)
    spawn_rate: float = Field(gt=0)
    duration_s: Seconds
    paths: dict[str, Annotated[int, Field(ge=1)]] = Field(min_length=1)
    """Request path -> relative weight."""
    thresholds: LoadThresholds = Field(default_factory=LoadThresholds)

    @field_validator("paths")
    @classmethod
    def _absolute_paths(cls, value: dict[str, int]) -> dict[str, int]:
        for path in value:
            if not path.startswith("/"):
                raise FieldProblem(f"path {path!r} must start with '/'", (path,))
        return value


class Headroom(StrictModel):
    """Share of allocatable capacity that must stay free after summing requests."""

    cpu: Fraction = 0.0
    memory: Fraction = 0.0


class ResourceLimits(StrictModel):
    """Highest utilisation accepted, as a share of the limit (pods) or capacity (nodes)."""

    pod_cpu: Fraction = 0.9
    pod_memory: Fraction = 0.9
    node_cpu: Fraction = 0.85
    node_memory: Fraction = 0.85


Severity = Annotated[
    Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]


class Environment(StrictModel):
    """The policy of one environment (production, staging, development): when a
    release may go out, who approves, who hears of it, what trips a rollback and
    which limits the checks apply."""

    window: Window = Field(default_factory=Window)
    approval: Approval = Field(default_factory=Approval)
    notification: Notification = Field(default_factory=Notification)
    monitoring_level: Literal["enhanced", "basic"] = "basic"
    rollback: RollbackCriteria = Field(default_factory=RollbackCriteria)
    load_profiles: dict[str, LoadProfile] = Field(default_factory=dict)
    backup_max_age_h: Seconds = 24.0
    cert_min_days: int = Field(default=14, ge=0)
    scan_severity_limit: Severity = "CRITICAL"
    headroom: Headroom = Field(default_factory=Headroom)
    resource_limits: ResourceLimits = Field(default_factory=ResourceLimits)
    base_url: HttpUrl | None = None
    """Overrides ``ingress.base_url`` for this environment."""
    configmaps: list[str] = Field(default_factory=list)
    """ConfigMap manifests of this environment, relative to ``manifests_dir``."""
    required_config_keys: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    """Systems that do not exist in this environment; their checks are not applicable."""

    def severity_blocks(self, severity: str) -> bool:
        """Whether a finding of ``severity`` is at or above this environment's limit."""
        rank = SEVERITIES.index(severity.upper()) if severity.upper() in SEVERITIES else 0
        return rank >= SEVERITIES.index(self.scan_severity_limit)
