"""``gonogo demo``: the command, added to ``gonogo`` through the
``gonogo.commands`` entry point of this distribution."""

from __future__ import annotations

import argparse
from pathlib import Path

from gonogo.cli import repo_root

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


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the top-level parser."""
    demo = subparsers.add_parser(
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


def cmd_demo(args: argparse.Namespace) -> int:
    from gonogo_sandbox.config import SandboxConfig
    from gonogo_sandbox.demo import flow

    if args.reset:
        return flow.reset_only(repo_root(), SandboxConfig())
    return flow.run(repo_root(), Path(args.reports_dir), SandboxConfig())
