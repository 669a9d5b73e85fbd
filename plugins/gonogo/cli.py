"""The ``gonogo`` command: the sandbox, the demo, and a shortcut to the gate.

``gonogo check ARGS`` is ``pytest ARGS`` with gonogo's suites; ``gonogo demo``
brings the sandbox up, runs the checklists against it and prints where the
reports are. Checks themselves always run through pytest, so everything pytest
offers (``-m``, ``-k``, ``-n``, ``--lf``) stays available."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gonogo import __version__


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


DEMO_RUNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "backup",
        "the pre-deployment backup a team's backup job takes (deploy Phase 1 item)",
        ("-m", "deploy", "--phase", "Phase 1", "-k", "backup", "--execute"),
    ),
    ("predeploy", "the pre-deployment gate", ("-m", "predeploy")),
    (
        "release",
        "the production release v1.0.0 -> v1.1.0 and its post-deploy validation, "
        "rolled back automatically if the criteria trip",
        ("-m", "deploy or postdeploy", "--execute", "--rollback=auto"),
    ),
)
"""What the demo runs, in order, against targets/sandbox.yaml in production."""


PRODUCTION_SIGNOFF_ITEMS = ["Change approval", "Maintenance window scheduled", "Team availability"]
"""The pre-deployment items that need a person's sign-off in production."""


def write_demo_signoffs(path: Path, release: str) -> Path:
    """Sign-offs for the demo's manual items, recorded now and valid for a day.
    They stand in for the approvals a real change would carry, and say so."""
    from gonogo.signoffs import write_signoffs

    return write_signoffs(
        path,
        PRODUCTION_SIGNOFF_ITEMS,
        who="Demo Approver (sandbox)",
        role="change-management",
        release=release,
        environment="production",
        ticket="DEMO-1",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    root = repo_root()
    from gonogo.sandbox import stack
    from gonogo.sandbox.config import SandboxConfig
    from gonogo.target import load_target

    cfg = SandboxConfig()
    started = time.monotonic()
    stack.up(cfg)
    env = {**os.environ, **stack.client_env(cfg)}
    target = root / "targets" / "sandbox.yaml"
    reports = Path(args.reports_dir).resolve()
    signoffs = write_demo_signoffs(reports / "signoffs.yaml", load_target(target).release)
    results: list[tuple[str, int]] = []
    for n, (slug, title, run_args) in enumerate(DEMO_RUNS, 1):
        print(f"\n== {n}/{len(DEMO_RUNS)} {title}", flush=True)
        name = f"{n}-{slug}"
        code = _pytest(
            [
                "suites",
                "--target",
                str(target),
                "--env",
                "production",
                *run_args,
                "--signoffs",
                str(signoffs),
                "--reports-dir",
                str(reports),
                f"--html={reports / (name + '.html')}",
                "--self-contained-html",
                f"--junitxml={reports / (name + '.xml')}",
                "-p",
                "no:cacheprovider",
            ],
            cwd=root,
            env=env,
        )
        checklist = reports / "checklist.md"
        if checklist.exists():
            checklist.replace(reports / f"{name}-checklist.md")
        results.append((title, code))
        if code != 0 and slug != "release":
            print(f"\n{title}: NO-GO, so the release does not start (fix, then run again)")
            break
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    for title, code in results:
        print(f"  {'GO   ' if code == 0 else 'NO-GO'}  {title}")
    print("reports:")
    for path in sorted(reports.glob("*.html")) + sorted(reports.glob("*-checklist.md")):
        print(f"  {path}")
    print("the sandbox is still up: 'gonogo sandbox status', 'gonogo sandbox down'")
    return max(code for _, code in results)


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
        help="sandbox up, checklists run against it, reports written",
        description="Start the local sandbox (building the cluster binaries on first use), "
        "run the pre-deployment gate and a production release of the demo system through "
        "gonogo, and print the paths of the reports.",
    )
    demo.add_argument(
        "--reports-dir",
        default="reports/demo",
        metavar="DIR",
        help="where the demo's reports go (default: reports/demo)",
    )
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser(
        "check",
        help="run gonogo's suites: pytest suites ARGS",
        description="Shortcut for 'pytest suites ARGS' from the repository root.",
    )
    check.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    check.set_defaults(func=cmd_check)
    from gonogo.sandbox import cli as sandbox_cli

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
