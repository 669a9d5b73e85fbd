"""The demo's sign-offs: the manual items of staging and production signed
for the release by the demo itself, which says so in each entry, standing in
for the people a real change would need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STAGING_SIGNOFF_ITEMS = ["User acceptance testing"]
"""The staging items that need a person's sign-off."""
PRODUCTION_SIGNOFF_ITEMS = ["Change approval", "Maintenance window scheduled", "Team availability"]
"""The pre-deployment items that need a person's sign-off in production."""
SIGNER = "gonogo demo (a demo sign-off, standing in for a person)"
TICKET = "DEMO-1"


def write_demo_signoffs(path: Path, target: Any, *, staging_also: tuple[str, ...] = ()) -> Path:
    """Sign-offs for the target's release in staging and production (and in
    staging for the releases ``staging_also`` names), each with the role the
    target's environment asks for, recorded now and valid for a day.
    Replaces ``path``."""
    from gonogo.model.signoffs import write_signoffs

    path.unlink(missing_ok=True)
    wanted = [("staging", release, STAGING_SIGNOFF_ITEMS) for release in staging_also]
    wanted += [
        ("staging", target.release, STAGING_SIGNOFF_ITEMS),
        ("production", target.release, PRODUCTION_SIGNOFF_ITEMS),
    ]
    for environment, release, items in wanted:
        write_signoffs(
            path,
            items,
            who=SIGNER,
            role=target.environment(environment).approval.role,
            release=release,
            environment=environment,
            ticket=TICKET,
            append=True,
        )
    return path
