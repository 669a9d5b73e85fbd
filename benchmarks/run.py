"""Gate time, API cost and rollback time at 10, 100 and 500 services.

For each size it generates a demo system of N services in the sandbox
(benchmarks/scale.py), then measures, in the same run:

* gonogo's pre-deployment gate (``pytest suites -m predeploy``) and its
  post-deployment immediate validation (``--phase "Immediate Validation"``):
  wall time, median of --runs runs after one warm-up;
* the seed's shell commands for the same checks (benchmarks/shell_baseline.sh),
  the same way, and the ratio baseline / gonogo;
* the API server's request count per run (its own ``apiserver_request_total``,
  less the sandbox's idle rate) and per phase;
* a complete rollback of every service from v1.1.0 to v1.0.0 through gonogo's
  Kubernetes rollback, against the seed's 15-minute budget.

Gates run with ``--no-gate`` so every check runs whatever an earlier one found;
the pass/fail counts are printed next to the times. Prints a table; writes the
raw figures to reports/benchmarks/gate.json.

    python -m benchmarks.run --sizes 10 100 500 --runs 5
    python benchmarks/run.py --sizes 10 --runs 1     (the same; what tox -e bench runs)

Every command is run by tests/support/suite_runner.py, the runner gonogo's own
tests use, so a benchmark runs the gate exactly as the tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (python benchmarks/run.py): the repository root, not
    # benchmarks/, must be on the path for `benchmarks` and `tests.support`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gonogo.model.signoffs import write_signoffs
from gonogo_sandbox import cluster, stack
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.demo.signoffs import PRODUCTION_SIGNOFF_ITEMS

from benchmarks import scale
from benchmarks.apiserver import idle_rate, reads, request_counts
from tests.support.suite_runner import closing_counts, pytest_command, run

REPO = scale.REPO
PREDEPLOY_PHASES = 3
"""Phases of the seed's pre-deployment stage."""


def signoffs_file(directory: Path, release: str) -> Path:
    return write_signoffs(
        directory / "signoffs.yaml",
        PRODUCTION_SIGNOFF_ITEMS,
        who="Benchmark Runner",
        role="change-management",
        release=release,
        environment="production",
        ticket="BENCH-1",
    )


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str, int]:
    """Wall seconds, output and exit code of ``command`` run from the repository."""
    done = run(command, cwd=REPO, env=env, timeout=1800)
    return done.seconds, done.output, done.returncode


def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    runs: int,
    cfg: SandboxConfig,
    idle: float,
) -> dict[str, Any]:
    """Median wall time and API requests of ``runs`` runs after one warm-up."""
    timed(command, env)
    times, requests, last = [], [], ""
    for _ in range(runs):
        before = reads(request_counts(cfg))
        seconds, output, _ = timed(command, env)
        after = reads(request_counts(cfg))
        times.append(seconds)
        requests.append(max(0, round(after - before - idle * seconds)))
        last = output
    result = {
        "name": name,
        "median_s": statistics.median(times),
        "times_s": times,
        "api_requests_median": statistics.median(requests),
        "api_requests": requests,
        "outcome": closing_counts(last),
    }
    print(
        f"    {name}: median {result['median_s']:.2f} s over {runs} runs "
        f"({result['outcome']}); API requests {result['api_requests_median']:.0f}",
        flush=True,
    )
    return result


def rollback_seconds(
    cfg: SandboxConfig, n: int, target: Path, env: dict[str, str], reports: Path
) -> dict[str, Any]:
    """Back up the system as the deploy's Phase 1 does, put every service on
    v1.1.0, then time gonogo's immediate rollback of one service (stop, undo,
    verify) and its complete system rollback of the rest (the whole phase:
    undo in reverse dependency order, restore the configuration, prove
    stability)."""
    suite = pytest_command("suites", "--target", str(target))
    common = ["--env", "production", "--reports-dir", str(reports)]
    _, output, code = timed(
        [*suite, "-m", "deploy", "--phase", "Phase 1", "-k", "backup", "--execute", *common], env
    )
    if code != 0:
        raise SystemExit(f"backup before the rollback failed:\n{output[-2000:]}")
    release = [d for d in scale.manifests(n, "v1.1.0") if d["kind"] == "Deployment"]
    scale.apply_and_wait(cfg, n, release)
    rollback = [*suite, "-m", "rollback", *common, "--execute", "-q", "-rfE", "--durations=0"]
    one = scale.service_names(n)[0]
    single_s, single_out, _ = timed(
        [*rollback, "--phase", "Immediate Rollback", "--service", one], env
    )
    print(
        f"    immediate rollback of one service ({one}): {single_s:.1f} s "
        f"({closing_counts(single_out)})",
        flush=True,
    )
    seconds, output, code = timed([*rollback, "--phase", "Complete System Rollback"], env)
    log = REPO / "reports" / "benchmarks" / f"rollback-{n}.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    images = scale.kubectl(
        cfg,
        "get",
        "deployments",
        "-n",
        scale.namespace(n),
        "-o",
        "jsonpath={.items[*].spec.template.spec.containers[0].image}",
    ).stdout.split()
    back = sum(1 for i in images if i.endswith(":v1.0.0"))
    print(
        f"    complete rollback of {n} services: {seconds:.1f} s, {back}/{n} back on v1.0.0 "
        f"({closing_counts(output)}; output in {log.relative_to(REPO)})",
        flush=True,
    )
    for line in output.splitlines():
        if re.match(r"^\d+\.\d+s call ", line):
            print(f"      {line}", flush=True)
    return {
        "seconds": seconds,
        "one_service_seconds": single_s,
        "one_service_outcome": closing_counts(single_out),
        "returned": back,
        "services": n,
        "exit": code,
        "outcome": closing_counts(output),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--runs", type=int, default=5)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--skip-rollback", action="store_true", help="measure the gates only")
    what.add_argument(
        "--rollback-only", action="store_true", help="measure the complete rollback only"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated namespaces")
    args = parser.parse_args(argv)

    cfg = SandboxConfig()
    bin_path = cluster.bin_dir()
    env = {
        **os.environ,
        **stack.client_env(cfg),
        "KUBECONFIG": str(cfg.kubeconfig),
        "PATH": f"{bin_path}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
    }
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="gonogo-bench-") as tmp:
        workdir = Path(tmp)
        signoffs = signoffs_file(workdir, "v1.1.0")
        for n in args.sizes:
            print(f"== {n} services", flush=True)
            ready = scale.deploy(cfg, n)
            print(f"    generated and Available in {ready:.1f} s", flush=True)
            target = scale.target_file(n, workdir)
            size: dict[str, Any] = {}
            if not args.rollback_only:
                idle = idle_rate(cfg)
                gate = pytest_command(
                    "suites",
                    "--target",
                    str(target),
                    "--env",
                    "production",
                    "--signoffs",
                    str(signoffs),
                    "--no-gate",
                    "-q",
                    "--reports-dir",
                    str(workdir / "reports"),
                )
                size["idle_requests_per_s"] = idle
                size["predeploy"] = measure(
                    "gonogo predeploy gate", [*gate, "-m", "predeploy"], env, args.runs, cfg, idle
                )
                size["predeploy"]["api_requests_per_phase"] = (
                    size["predeploy"]["api_requests_median"] / PREDEPLOY_PHASES
                )
                size["t_plus_10"] = measure(
                    "gonogo T+10 validation",
                    [*gate, "-m", "postdeploy", "--phase", "Immediate Validation"],
                    env,
                    args.runs,
                    cfg,
                    idle,
                )
                shell = [
                    str(REPO / "benchmarks" / "shell_baseline.sh"),
                    scale.namespace(n),
                    f"http://127.0.0.1:{cfg.port('demo')}/_ns/{scale.namespace(n)}",
                    *scale.service_names(n),
                ]
                size["shell"] = measure("shell baseline", shell, env, args.runs, cfg, idle)
                size["ratio_shell_over_gate"] = (
                    size["shell"]["median_s"] / size["predeploy"]["median_s"]
                )
                print(
                    f"    baseline / gonogo gate: {size['ratio_shell_over_gate']:.1f}x", flush=True
                )
            if not args.skip_rollback:
                size["rollback"] = rollback_seconds(cfg, n, target, env, workdir / "reports")
            results["sizes"][str(n)] = size
            if not args.keep:
                scale.remove(cfg, n)
    out = REPO / "reports" / "benchmarks" / ("rollback.json" if args.rollback_only else "gate.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"raw figures: {out}")
    return 0


def print_table(results: dict[str, Any]) -> None:
    print()
    print(
        "| services | predeploy gate (s) | shell baseline (s) | baseline/gate | T+10 (s) "
        "| API req/phase (gate) | API req (T+10) | rollback, one service (s) "
        "| rollback, complete (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, s in results["sizes"].items():
        rollback = s.get("rollback", {})
        rb, one = rollback.get("seconds"), rollback.get("one_service_seconds")
        rb_cells = (
            f"| {'-' if one is None else f'{one:.1f}'} | {'-' if rb is None else f'{rb:.1f}'} |"
        )
        if "predeploy" not in s:
            print(f"| {n} | - | - | - | - | - | - {rb_cells}")
            continue
        print(
            f"| {n} | {s['predeploy']['median_s']:.2f} | {s['shell']['median_s']:.2f} "
            f"| {s['ratio_shell_over_gate']:.1f}x | {s['t_plus_10']['median_s']:.2f} "
            f"| {s['predeploy']['api_requests_per_phase']:.0f} "
            f"| {s['t_plus_10']['api_requests_median']:.0f} "
            f"{rb_cells}"
        )


if __name__ == "__main__":
    sys.exit(main())
