"""``gonogo rbac``: the least-privilege account for a selection of checks.

The checks are collected exactly as the gate would collect them (pytest
``--collect-only`` with the same ``-m``, ``--target`` and ``--env``, in a
process of its own), the access they declare is read back as a plan, and the
plan is printed as manifests. Nothing is hand-kept: adding a declaration to a
check adds its rule, removing it removes the rule."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from gonogo.engine.rbac.manifest import render
from gonogo.engine.rbac.plan import AccessPlan
from gonogo.engine.rbac.plugin import PLAN_ENV
from gonogo.errors import GonogoError

USAGE_ERROR = 4

DESCRIPTION = """\
Print, as YAML for 'kubectl apply -f -', the ServiceAccount (in the
environment's namespace) and the Roles, ClusterRole and bindings that exactly
the selected checks need: derived from what each check declares it reads and
changes (@pytest.mark.kube_access), plus what the run itself does for them
(its record in the target's record store; for deploy and post-deploy checks,
the rollback --rollback would plan or run). No wildcard is ever granted.

A mutating check needs its verbs even without --execute: the API server
authorizes a server-side dry run as the real request, so '-m deploy' without
--execute needs exactly what it needs with it. RBAC cannot grant "dry run
only": the pre-deployment gate's dry-run applies (Configuration validation,
Backup verification) make its account able to change the namespace's objects
for real (docs/rbac.md says how to fence that). Checks that back up or
restore every kind of the namespace ('restorable') are expanded through the
cluster's discovery, so run this where the target's kube context reaches it.

Then mint a token for the account (kubectl create token NAME -n NAMESPACE, or
a Secret of type kubernetes.io/service-account-token) and keep it in the CI's
secret store. A run whose account lacks a permission its checks declare is
refused before any check runs (exit 4), naming the permission and this
command.

Example:
  gonogo rbac --target targets/sandbox.yaml --env production -m predeploy \\
    | kubectl apply -f -
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rbac",
        help="print the least-privilege ServiceAccount and Roles the selected checks need",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--target", required=True, metavar="FILE", help="the target file")
    p.add_argument(
        "--env", required=True, metavar="NAME", help="environment: its namespace holds the account"
    )
    p.add_argument(
        "-m",
        dest="markexpr",
        default="",
        metavar="EXPR",
        help="the checks, as the gate selects them (e.g. predeploy, 'deploy or postdeploy'); "
        "default: every check",
    )
    p.add_argument(
        "--service-account",
        default="gonogo",
        metavar="NAME",
        help="name of the ServiceAccount, its Roles and bindings (default: gonogo)",
    )
    p.add_argument(
        "--rollback",
        choices=("plan", "auto", "off"),
        default="plan",
        help="the --rollback the runs use: auto also grants what executing a rollback needs "
        "(default: plan)",
    )
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace) -> str:
    words = ["gonogo", "rbac", "--target", args.target, "--env", args.env]
    if args.markexpr:
        words += ["-m", args.markexpr]
    if args.service_account != "gonogo":
        words += ["--service-account", args.service_account]
    if args.rollback != "plan":
        words += ["--rollback", args.rollback]
    return shlex.join(words)


def collect(args: argparse.Namespace, repo: Path) -> tuple[int, str, dict[str, AccessPlan]]:
    """Collect the selection in a pytest process; its exit code, output and plans."""
    target = Path(args.target).expanduser().resolve()
    with tempfile.TemporaryDirectory(prefix="gonogo-rbac-") as tmp:
        out = Path(tmp) / "plan.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            f"--rootdir={repo}",
            "-p",
            "gonogo.engine.rbac.plugin",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            f"--target={target}",
            f"--env={args.env}",
            f"--rollback={args.rollback}",
            f"--reports-dir={tmp}/reports",
        ]
        if args.markexpr:
            command += ["-m", args.markexpr]
        env = {**os.environ, PLAN_ENV: str(out)}
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        if done.returncode != 0 or not out.is_file():
            return done.returncode, output, {}
        data = json.loads(out.read_text(encoding="utf-8"))
    return 0, output, {tid: AccessPlan.from_json(p) for tid, p in data.items()}


def _errors(output: str) -> str:
    """pytest's own error lines, without its decoration."""
    lines = [
        line.removeprefix("ERROR: ")
        for line in output.splitlines()
        if line.startswith("ERROR: ") or line.startswith("E   ")
    ]
    return "\n".join(lines) or output.strip()[-2000:]


def run(args: argparse.Namespace) -> int:
    from gonogo.cli import repo_root

    if not Path(args.target).expanduser().is_file():
        print(f"gonogo rbac: --target {args.target}: no such file", file=sys.stderr)
        return USAGE_ERROR
    code, output, plans = collect(args, repo_root())
    if code == 5:
        print(
            f"gonogo rbac: -m {args.markexpr!r} selects no check for --env {args.env}; "
            "use a stage (predeploy, deploy, postdeploy, staging, rollback, emergency)",
            file=sys.stderr,
        )
        return USAGE_ERROR
    if code != 0 or not plans:
        print(f"gonogo rbac: the checks could not be collected: {_errors(output)}", file=sys.stderr)
        return USAGE_ERROR if code in (0, 4) else code
    for plan in plans.values():
        if plan.needs_discovery:
            try:
                plan = plan.expanded(_cluster_kinds(args))
            except GonogoError as e:
                print(
                    f"gonogo rbac: the selected checks read or restore every kind a backup "
                    f"holds ('restorable'), which only the cluster's discovery can name: {e}; "
                    "run gonogo rbac where the target's kube context reaches the cluster",
                    file=sys.stderr,
                )
                return USAGE_ERROR
        sys.stdout.write(render(plan, args.service_account, command=command_line(args)))
    return 0


def _cluster_kinds(args: argparse.Namespace) -> list[tuple[str, str]]:
    from gonogo.engine.rbac.plan import restorable_kinds
    from gonogo.integrations.kubernetes.client import client_for
    from gonogo.model.target import load_target

    kube = client_for(load_target(Path(args.target)))
    try:
        return restorable_kinds(kube)
    finally:
        kube.close()


__all__ = ["DESCRIPTION", "collect", "register", "run"]
