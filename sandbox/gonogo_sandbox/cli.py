"""``gonogo sandbox``: build, start, stop, inspect and break the local stack.

The top-level ``gonogo`` command calls :func:`register`; every handler takes the
parsed arguments and returns the exit code (0 done, 1 failed, 4 usage error).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

from gonogo_sandbox import cluster, faults, manifests, stack
from gonogo_sandbox import reset as sandbox_reset
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import SandboxError

USAGE_ERROR = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sandbox`` and its subcommands to the top-level parser."""
    sandbox = subparsers.add_parser(
        "sandbox",
        help="the local Kubernetes sandbox and demo system",
        description="A real local control plane with fake nodes, the demo system and the "
        "services around it, all on 127.0.0.1.",
    )
    sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="build (or reuse) the cluster binaries")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "up",
        help="start the sandbox; a running one is reset (idempotent)",
        description="Start whatever is not running. A sandbox that was already running "
        "is reset as 'gonogo sandbox reset' does, so 'up' always leaves release v1.0.0, "
        "no fault and an empty metric history.",
    )
    p.add_argument(
        "--nodes",
        type=_positive_int,
        default=SandboxConfig().nodes,
        help="number of fake nodes (default: %(default)s)",
    )
    p.add_argument(
        "--namespace-staging",
        action="store_true",
        help="also deploy the demo system to namespace sophia-staging",
    )
    p.set_defaults(func=cmd_up)

    p = sub.add_parser(
        "reset",
        help="put a running sandbox back to v1.0.0, no fault, empty metric history",
        description="In seconds: the demo system back on release v1.0.0 with no fault "
        "annotation, the fake nodes Ready, Prometheus and Alertmanager on empty storage, "
        "the fakes on their healthy seed. Run records are kept.",
    )
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("down", help="stop everything the sandbox started")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="each component up or down, with its address")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "fault",
        help="inject or clear a fault in a demo Deployment (a new rollout)",
        description="Sets fault annotations on the Deployment's pod template, which rolls "
        "out new pods, as a bad release would; 'kubectl rollout undo' heals it.",
    )
    p.add_argument("deployment")
    p.add_argument("-n", "--namespace", default=manifests.NAMESPACE)
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--error-rate", type=float, metavar="R", help="share of requests, 0-1, answering 500"
    )
    kind.add_argument("--latency", type=float, metavar="S", help="seconds added to every request")
    kind.add_argument("--unavailable", action="store_true", help="every request answers 503")
    kind.add_argument("--clear", action="store_true", help="remove every fault annotation")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the rollout")
    p.set_defaults(func=cmd_fault)

    p = sub.add_parser("logs", help="print a component's log")
    p.add_argument("component", help="e.g. kube-apiserver, kwok-controller, demo, redis")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.set_defaults(func=cmd_logs)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _config(args: argparse.Namespace) -> SandboxConfig:
    nodes = getattr(args, "nodes", None)
    cfg = SandboxConfig()
    return dataclasses.replace(cfg, nodes=nodes) if nodes else cfg


def _fail(message: str, code: int = 1) -> int:
    print(f"gonogo sandbox: {message}", file=sys.stderr)
    return code


# -- handlers ------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    try:
        script = cluster.find_repo() / "sandbox" / "cluster" / "build.sh"
    except SandboxError as e:
        return _fail(str(e))
    result = subprocess.run(["bash", str(script)], check=False)
    return (
        0 if result.returncode == 0 else _fail(f"build failed; see the step named above ({script})")
    )


def cmd_up(args: argparse.Namespace) -> int:
    """Start what is missing; when any of the sandbox was already running, it
    may hold an earlier run's state, so the reset follows (in seconds)."""
    cfg = _config(args)
    was_up = [up for _, up, _ in stack.status(cfg)]
    try:
        if not all(was_up) or args.namespace_staging:
            stack.up(cfg, staging=args.namespace_staging)
        if any(was_up):
            print(sandbox_reset.UP_RESETS.format(release=manifests.RELEASE), flush=True)
            sandbox_reset.reset(cfg)
    except SandboxError as e:
        return _fail(f"{e}\n(what started keeps running; 'gonogo sandbox down' stops it)")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if not sandbox_reset.is_running(cfg):
        return _fail(sandbox_reset.NOT_RUNNING)
    try:
        sandbox_reset.reset(cfg)
    except SandboxError as e:
        return _fail(f"reset incomplete: {e}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    left = stack.down(_config(args))
    if left:
        return _fail(f"still running after down: {', '.join(left)}; see 'gonogo sandbox status'")
    print("sandbox down; no sandbox process left")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = stack.status(_config(args))
    width = max(len(name) for name, _, _ in rows)
    for name, up, address in rows:
        print(f"{name:<{width}}  {'up' if up else 'DOWN':<4}  {address}")
    return 0 if all(up for _, up, _ in rows) else 1


def cmd_fault(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.clear:
        annotations: dict[str, str | None] = dict.fromkeys(faults.ALL)
    elif args.unavailable:
        annotations = {faults.UNAVAILABLE: "true"}
    elif args.error_rate is not None:
        annotations = {faults.ERROR_RATE: f"{args.error_rate:g}"}
    else:
        annotations = {faults.LATENCY: f"{args.latency:g}"}
    try:
        faults.validate({k: v for k, v in annotations.items() if v is not None})
    except faults.FaultSpecError as e:
        return _fail(str(e), USAGE_ERROR)
    try:
        bin_path = cluster.bin_dir()
    except SandboxError as e:
        return _fail(str(e))
    patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
    target = f"deployment/{args.deployment}"
    result = cluster.kubectl(
        cfg,
        bin_path,
        "patch",
        target,
        "-n",
        args.namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )
    if result.returncode != 0:
        return _fail(f"{args.namespace}/{args.deployment}: {result.stderr.strip()}")
    what = "cleared" if args.clear else ", ".join(f"{k}={v}" for k, v in annotations.items())
    print(f"{args.namespace}/{args.deployment}: fault {what} (a new rollout)")
    if args.no_wait:
        return 0
    result = cluster.kubectl(
        cfg,
        bin_path,
        "rollout",
        "status",
        target,
        "-n",
        args.namespace,
        "--timeout=120s",
        timeout=150,
    )
    if result.returncode != 0:
        return _fail(f"rollout did not complete: {result.stderr.strip()}")
    print(f"{args.namespace}/{args.deployment}: rollout complete; the HTTP mirror now applies it")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    cfg = _config(args)
    path = stack.log_path(cfg, args.component)
    if not path.is_file():
        known = ", ".join(stack.log_components(cfg))
        return _fail(f"no log for {args.component!r} at {path}; components: {known}", USAGE_ERROR)
    return _follow(path) if args.follow else _tail(path)


def _tail(path: Path, lines: int = 200) -> int:
    with open(path, "rb") as f:
        for line in f.readlines()[-lines:]:
            sys.stdout.write(line.decode(errors="replace"))
    return 0


def _follow(path: Path) -> int:
    _tail(path)
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            while True:
                chunk = f.read()
                if chunk:
                    sys.stdout.write(chunk.decode(errors="replace"))
                    sys.stdout.flush()
                else:
                    time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
