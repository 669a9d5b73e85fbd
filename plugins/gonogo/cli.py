"""The ``gonogo`` command: the sandbox, the demo, and a shortcut to the gate.

``gonogo check ARGS`` is ``pytest ARGS`` with gonogo's suites; ``gonogo demo``
walks the release process on the sandbox (``gonogo.demo``). Checks themselves
always run through pytest, so everything pytest offers (``-m``, ``-k``, ``-n``,
``--lf``) stays available."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gonogo import __version__
from gonogo.demo.signoffs import PRODUCTION_SIGNOFF_ITEMS

__all__ = ["PRODUCTION_SIGNOFF_ITEMS", "build_parser", "main", "repo_root"]


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


def cmd_demo(args: argparse.Namespace) -> int:
    from gonogo.demo import flow
    from gonogo.sandbox.config import SandboxConfig

    if args.reset:
        return flow.reset_only(repo_root(), SandboxConfig())
    return flow.run(repo_root(), Path(args.reports_dir), SandboxConfig())


DEMO_DESCRIPTION = """\
Walk the release process of targets/sandbox.yaml on the local sandbox, from
nothing: the sandbox is started unless it is up (its cluster binaries are built
once by 'make setup' or 'gonogo sandbox build'; 'make demo' does both),
production is put back on v1.0.0 and staging emptied, then four steps run,
each a 'python -m pytest' run of the checklist suites, one reports folder for
all:

  1. staging release of v1.1.0: deploy, validate, load test       (expected GO)
     after a baseline staging run of v1.0.0, which Regression
     testing compares with (on this first staging run, Regression
     testing has nothing to compare and fails closed: NO-GO there)
  2. production backup, then the pre-deployment gate, which reads
     staging's results for v1.1.0                                  (expected GO)
  3. production release v1.0.0 -> v1.1.0 with post-deployment
     validation, --execute --rollback=auto                         (expected GO)
  4. a faulty candidate v1.2.0 (mcp-context answers 20 % errors)
     released the same way: caught by post-deployment validation,
     rolled back, and checked back on v1.1.0 by the demo           (expected NO-GO)

Every step prints its verdict and whether it was the expected one; the summary
says what caught the fault and what was rolled back. Exit 0 only when every
step ended as expected. The sign-offs the manual items need are recorded by
the demo as demo sign-offs. The sandbox stays up afterwards.

Reports land in --reports-dir, per run: <n>-<name>.html (the report for the
approvers), <n>-<name>-checklist.md (the filled-in checklist), <n>-<name>.xml
(JUnit) and <n>-<name>.log (the run's output); next to them what the runs pass
on to each other (backups/, load/, junit-<env>.xml) and the target copies the
baseline and the candidate run against. Run records go to the store the target
names (targets/sandbox.yaml: ConfigMaps in the sandbox's gonogo-records
namespace).
"""


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
        "every option.",
    )
    parser.add_argument("--version", action="version", version=f"gonogo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="walk the release process on the local sandbox, from nothing",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DEMO_DESCRIPTION,
    )
    demo.add_argument(
        "--reports-dir",
        default="reports/demo",
        metavar="DIR",
        help="where every step's reports go (default: reports/demo); it must be new, empty, "
        "or an earlier demo's, which is emptied first",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="only put the demo system back where the demo starts (production on v1.0.0, "
        "no staging namespace, no fault) and stop",
    )
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser(
        "check",
        help="run gonogo's suites: pytest suites ARGS",
        description="Shortcut for 'pytest suites ARGS' from the repository root.",
    )
    check.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    check.set_defaults(func=cmd_check)
    from gonogo.rbac import command as rbac_command
    from gonogo.sandbox import cli as sandbox_cli

    rbac_command.register(sub)
    sandbox_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line, never a traceback, for anything we raised on purpose
        from gonogo.errors import GonogoError
        from gonogo.sandbox.process import SandboxError

        if isinstance(e, GonogoError | SandboxError):
            print(f"gonogo: {e}", file=sys.stderr)
            return 4 if e.__class__.__name__ == "ConfigError" else 1
        raise


if __name__ == "__main__":
    sys.exit(main())
