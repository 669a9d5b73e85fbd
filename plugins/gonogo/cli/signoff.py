"""``gonogo signoff``: record a person's sign-off for a manual checklist item.

Writing the YAML by hand invites the mistakes the gate then refuses at release
time: an item title that matches nothing, a missing ticket, a timestamp
without a zone. This command checks the title against the checklist when the
sign-off is given, fills in the time, and appends the entry to the sign-off
file that ``--signoffs FILE`` later reads."""

from __future__ import annotations

import argparse
import difflib
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gonogo.engine.settings import ENVIRONMENTS
from gonogo.errors import ConfigError
from gonogo.model.checklist import Checklist, load_checklist
from gonogo.model.signoffs import DEFAULT_VALIDITY, append_signoff, parse_timestamp

DEFAULT_CHECKLIST = "docs/checklists.md"

DESCRIPTION = """\
Record that a person signed off a manual checklist item (change approval, team
availability, user acceptance) for a release in an environment. The item is
checked against the checklist; the entry is appended to FILE (created if
absent, private to its owner) and printed. Pass the same FILE to the gate
with --signoffs FILE.

Where the environment requires approval, the person who runs the release
(--operator) cannot sign it off: another approver records it here.

Example:
  gonogo signoff --signoffs signoffs.yaml --item "Change approval" \\
    --who "Dana Ops" --role change-management --release v1.1.0 \\
    --environment production --ticket CHG-4711
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "signoff",
        help="record a sign-off for a manual checklist item",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--signoffs", required=True, metavar="FILE", help="the sign-off file")
    p.add_argument("--item", required=True, metavar="TITLE", help="the checklist item's title")
    p.add_argument("--who", required=True, metavar="NAME", help="who signs off")
    p.add_argument("--role", required=True, metavar="ROLE", help="their role")
    p.add_argument("--release", required=True, metavar="TAG", help="the release, e.g. v1.1.0")
    p.add_argument(
        "--environment", required=True, metavar="ENV", help=f"one of: {', '.join(ENVIRONMENTS)}"
    )
    p.add_argument("--ticket", metavar="ID", help="the change ticket (or --link)")
    p.add_argument("--link", metavar="URL", help="a link to the approval (or --ticket)")
    p.add_argument(
        "--when",
        metavar="WHEN",
        help="when it was given, e.g. 2026-11-27T01:40:00Z (default: now, UTC)",
    )
    p.add_argument(
        "--expires",
        metavar="WHEN",
        help="when it lapses: a timestamp or a duration after --when such as 12h or 2d "
        f"(default: {DEFAULT_VALIDITY.days} days after --when)",
    )
    p.add_argument(
        "--checklist",
        metavar="FILE",
        help=f"the checklist (default: the gonogo_checklist ini value, {DEFAULT_CHECKLIST} "
        "under the repository root)",
    )
    p.set_defaults(func=cmd_signoff)


def cmd_signoff(args: argparse.Namespace) -> int:
    checklist = load_checklist(args.checklist or default_checklist())
    title = checked_title(checklist, args.item)
    for name in ("who", "role", "release"):
        if not str(getattr(args, name)).strip():
            raise ConfigError(f"--{name} is empty; give it a value")
    if args.environment not in ENVIRONMENTS:
        raise ConfigError(
            f"--environment {args.environment!r}: unknown; use one of: {', '.join(ENVIRONMENTS)}"
        )
    if bool(args.ticket) == bool(args.link):
        given = "both" if args.ticket else "neither"
        raise ConfigError(
            f"{given} of --ticket and --link given; pass exactly one, naming the approval record"
        )
    when = _timestamp(args.when, "--when") if args.when else datetime.now(UTC)
    expires = _expiry(args.expires, when)
    entry = {
        "item": title,
        "who": args.who.strip(),
        "role": args.role.strip(),
        "when": when.isoformat(timespec="seconds"),
        "release": args.release.strip(),
        "environment": args.environment,
        **({"ticket": args.ticket.strip()} if args.ticket else {"link": args.link.strip()}),
        "expires": expires.isoformat(timespec="seconds"),
    }
    print(append_signoff(Path(args.signoffs), entry), end="")
    return 0


def default_checklist() -> Path:
    """The checklist the gate would read: the repository's ``gonogo_checklist``
    ini value (pyproject.toml), else docs/checklists.md, under its root."""
    from gonogo.cli import repo_root

    root = repo_root()
    relative = DEFAULT_CHECKLIST
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            ini = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            ini = {}
        relative = (
            ini.get("tool", {})
            .get("pytest", {})
            .get("ini_options", {})
            .get("gonogo_checklist", relative)
        )
    return root / relative


def checked_title(checklist: Checklist, title: str) -> str:
    """The item's title as the checklist spells it; a ConfigError naming the
    nearest titles when no item has it."""
    found = checklist.find(title)
    if found:
        return found[0].title
    titles = sorted({item.title for item in checklist.all_items()})
    nearest = difflib.get_close_matches(title, titles, n=3, cutoff=0.4)
    if not nearest:
        by_case = {t.casefold(): t for t in titles}
        nearest = [
            by_case[t]
            for t in difflib.get_close_matches(title.casefold(), list(by_case), n=3, cutoff=0.3)
        ]
    hint = f"did you mean {', '.join(repr(t) for t in nearest)}?" if nearest else "no title is near"
    raise ConfigError(
        f"--item {title!r}: no such item in the checklist; {hint} (pass the title as the "
        "checklist writes it)",
        file=checklist.source,
    )


def _timestamp(value: str, option: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError as e:
        raise ConfigError(
            f"{option} {value!r}: not a timestamp; write it as 2026-11-27T01:40:00Z"
        ) from e


_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _expiry(value: str | None, when: datetime) -> datetime:
    if value is None:
        return when + DEFAULT_VALIDITY
    match = _DURATION.match(value)
    if match:
        expires = when + timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            expires = _timestamp(value, "--expires")
        except ConfigError as e:
            raise ConfigError(
                f"--expires {value!r}: neither a timestamp (2026-11-28T06:00:00Z) nor a "
                "duration (12h, 2d, 90m); write it as one of those"
            ) from e
    if expires <= when:
        raise ConfigError(
            f"--expires {expires.isoformat()} is not after --when {when.isoformat()}; "
            "give a later time"
        )
    return expires
