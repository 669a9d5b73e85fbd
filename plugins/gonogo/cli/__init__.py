"""The ``gonogo`` command: the sandbox, the demo, and a shortcut to the gate.

``gonogo check ARGS`` is ``pytest ARGS`` with gonogo's suites; ``gonogo demo``
walks the release process on the sandbox (``gonogo_sandbox.demo``). Checks themselves
always run through pytest, so everything pytest offers (``-m``, ``-k``, ``-n``,
``--lf``) stays available."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from gonogo import __version__

__all__ = ["COMMANDS_GROUP", "build_parser", "main", "repo_root"]

COMMANDS_GROUP = "gonogo.commands"
"""Entry points that add subcommands: each is ``register(subparsers)``. The
sandbox distribution adds ``sandbox`` and ``demo`` this way, so the product
never imports it."""


def repo_root() -> Path:
    """The checkout gonogo runs from: ``GONOGO_REPO``, else the directory above
    the package that holds ``suites/``, else the current directory."""
    env = os.environ.get("GONOGO_REPO")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "suites").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def _pytest(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    print("$ " + " ".join(command[2:]), flush=True)
    return subprocess.call(command, cwd=cwd, env=env)


def cmd_check(args: argparse.Namespace) -> int:
    return _pytest(["suites", *args.pytest_args], cwd=repo_root())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gonogo",
        description="Decide, with evidence, whether a release may go to production: runs a "
        "Markdown deployment checklist as a pytest suite against a target and ends with "
        "GO (exit 0) or NO-GO (exit 1).",
        epilog="The gate itself runs through pytest: pytest -m predeploy --target "
        "targets/sandbox.yaml --env production. See 'pytest --help' (gonogo section) for "
        "every option. 'gonogo sandbox' and 'gonogo demo' come with the gonogo-sandbox "
        "distribution (pip install -e sandbox; make setup installs it).",
    )
    parser.add_argument("--version", action="version", version=f"gonogo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = sub.add_parser(
        "check",
        help="run gonogo's suites: pytest suites ARGS",
        description="Shortcut for 'pytest suites ARGS' from the repository root.",
    )
    check.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    check.set_defaults(func=cmd_check)
    from gonogo.cli import rbac as rbac_command
    from gonogo.cli import signoff as signoff_command

    rbac_command.register(sub)
    signoff_command.register(sub)
    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        entry.load()(sub)
    return parser


SANDBOX_COMMANDS = ("sandbox", "demo")
"""Commands the gonogo-sandbox distribution adds; named here only to say how
to get them when it is not installed."""


def _missing_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The one-line remedy for ``gonogo sandbox``/``gonogo demo`` without the
    sandbox distribution, instead of argparse's "invalid choice"."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or words[0] not in SANDBOX_COMMANDS:
        return None
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if words[0] in sub.choices:
        return None
    return (
        f"gonogo: 'gonogo {words[0]}' comes with the gonogo-sandbox distribution, which is "
        "not installed; install it from the repository: pip install -e sandbox (make setup does)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    missing = _missing_command(parser, argv)
    if missing is not None:
        print(missing, file=sys.stderr)
        return 4
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line, never a traceback, for anything we raised on purpose
        from gonogo.errors import GonogoError

        if isinstance(e, GonogoError):
            print(f"gonogo: {e}", file=sys.stderr)
            return 4 if e.__class__.__name__ == "ConfigError" else 1
        raise


if __name__ == "__main__":
    sys.exit(main())
