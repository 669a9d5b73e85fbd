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
* the same HTTP probes as T+10 (health three times per service for each of
  its two health rounds, the version three times) sent by curl through
  ``xargs -P 32`` (benchmarks/curl_probes.sh), and the ratio gonogo / curl;
* the peak RSS of the pytest process of the gate and of T+10 (its warm-up
  run, through benchmarks/maxrss.py, so the timed runs carry no wrapper);
* a complete rollback of every service from v1.1.0 to v1.0.0 through gonogo's
  Kubernetes rollback, against the seed's 15-minute budget, and the seed's
  own commands on the same Deployments from the same state (``kubectl
  rollout undo`` then ``kubectl rollout status`` per Deployment,
  benchmarks/kubectl_rollback.sh), for one service and for the rest.

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
HEALTH_SAMPLES = 3
"""Health answers per service in one T+10 health round (suites/postdeploy/conftest.py)."""
PROBE_CONCURRENCY = 32
"""gonogo's HTTP probe concurrency (gonogo.integrations.http.client.DEFAULT_CONCURRENCY)."""


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


def peak_rss_kib(command: list[str], env: dict[str, str]) -> tuple[int, float, str, int]:
    """Run ``command`` once through benchmarks/maxrss.py: the peak RSS (KiB) of
    its largest process, its wall seconds, output and exit code."""
    with tempfile.NamedTemporaryFile(prefix="gonogo-rss-", suffix=".txt") as out:
        wrapped = [sys.executable, "-m", "benchmarks.maxrss", out.name, *command]
        seconds, output, code = timed(wrapped, env)
        text = Path(out.name).read_text().strip()
    return int(text or 0), seconds, output, code


def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    runs: int,
    cfg: SandboxConfig,
    idle: float,
    *,
    rss: bool = False,
) -> dict[str, Any]:
    """Median wall time and API requests of ``runs`` runs after one warm-up;
    with ``rss``, the warm-up also measures the peak RSS."""
    peak_kib = peak_rss_kib(command, env)[0] if rss else None
    if not rss:
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
    if peak_kib is not None:
        result["peak_rss_mib"] = round(peak_kib / 1024, 1)
    print(
        f"    {name}: median {result['median_s']:.2f} s over {runs} runs "
        f"({result['outcome']}); API requests {result['api_requests_median']:.0f}"
        + (f"; peak RSS {result['peak_rss_mib']:.0f} MiB" if peak_kib is not None else ""),
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
    back = on_release(cfg, n, "v1.0.0")
    print(
        f"    complete rollback of {n} services: {seconds:.1f} s, {back}/{n} back on v1.0.0 "
        f"({closing_counts(output)}; output in {log.relative_to(REPO)})",
        flush=True,
    )
    calls: dict[str, float] = {}
    for line in output.splitlines():
        if match := re.match(r"^(\d+\.\d+)s call +(\S+)", line):
            print(f"      {line}", flush=True)
            calls[match.group(2)] = float(match.group(1))
    return {
        "seconds": seconds,
        "one_service_seconds": single_s,
        "one_service_outcome": closing_counts(single_out),
        "returned": back,
        "services": n,
        "exit": code,
        "outcome": closing_counts(output),
        "call_seconds": calls,
    }


def on_release(cfg: SandboxConfig, n: int, release: str) -> int:
    """How many of the N Deployments' templates name ``release``."""
    images = scale.kubectl(
        cfg,
        "get",
        "deployments",
        "-n",
        scale.namespace(n),
        "-o",
        "jsonpath={.items[*].spec.template.spec.containers[0].image}",
    ).stdout.split()
    return sum(1 for i in images if i.endswith(f":{release}"))


def kubectl_rollback_seconds(cfg: SandboxConfig, n: int, env: dict[str, str]) -> dict[str, Any]:
    """The seed's own commands from the state gonogo's rollback started from
    (every service on v1.1.0, Available): ``kubectl rollout undo`` then
    ``kubectl rollout status`` for one service, then for the rest."""
    release = [d for d in scale.manifests(n, "v1.1.0") if d["kind"] == "Deployment"]
    scale.apply_and_wait(cfg, n, release)
    script = str(REPO / "benchmarks" / "kubectl_rollback.sh")
    names = scale.service_names(n)
    single_s, _, single_code = timed([script, scale.namespace(n), names[0]], env)
    print(f"    kubectl undo + status, one service: {single_s:.1f} s", flush=True)
    seconds, output, code = timed([script, scale.namespace(n), *names[1:]], env)
    back = on_release(cfg, n, "v1.0.0")
    print(
        f"    kubectl undo + status, the other {n - 1}: {seconds:.1f} s, "
        f"{back}/{n} back on v1.0.0 (exit {code})",
        flush=True,
    )
    return {
        "one_service_seconds": single_s,
        "one_service_exit": single_code,
        "seconds": seconds,
        "exit": code,
        "returned": back,
        "output_tail": output[-2000:],
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
    # Python's bytecode cache is on, as on a user's machine: with
    # PYTHONDONTWRITEBYTECODE set every run compiles gonogo, its clients and
    # pytest's rewritten modules from source (about 0.5 s of each start here).
    # The warm-up run of each measurement fills the cache.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
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
                    "gonogo predeploy gate",
                    [*gate, "-m", "predeploy"],
                    env,
                    args.runs,
                    cfg,
                    idle,
                    rss=True,
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
                    rss=True,
                )
                base_url = f"http://127.0.0.1:{cfg.port('demo')}/_ns/{scale.namespace(n)}"
                curl = [
                    str(REPO / "benchmarks" / "curl_probes.sh"),
                    base_url,
                    str(HEALTH_SAMPLES),
                    str(PROBE_CONCURRENCY),
                    *scale.service_names(n),
                ]
                size["t_plus_10_curl"] = measure(
                    f"curl, T+10's HTTP probes (xargs -P {PROBE_CONCURRENCY})",
                    curl,
                    env,
                    args.runs,
                    cfg,
                    idle,
                )
                size["ratio_t10_over_curl"] = (
                    size["t_plus_10"]["median_s"] / size["t_plus_10_curl"]["median_s"]
                )
                print(
                    f"    gonogo T+10 / curl probes: {size['ratio_t10_over_curl']:.1f}x", flush=True
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
                size["kubectl_rollback"] = kubectl_rollback_seconds(cfg, n, env)
                gonogo, kubectl = size["rollback"], size["kubectl_rollback"]
                size["ratio_rollback_over_kubectl"] = gonogo["seconds"] / kubectl["seconds"]
                size["ratio_one_service_over_kubectl"] = (
                    gonogo["one_service_seconds"] / kubectl["one_service_seconds"]
                )
                print(
                    f"    gonogo / kubectl rollback: complete "
                    f"{size['ratio_rollback_over_kubectl']:.2f}x, one service "
                    f"{size['ratio_one_service_over_kubectl']:.2f}x",
                    flush=True,
                )
            results["sizes"][str(n)] = size
            if not args.keep:
                scale.remove(cfg, n)
    out = REPO / "reports" / "benchmarks" / ("rollback.json" if args.rollback_only else "gate.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"raw figures: {out}")
    return 0


def _cell(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def print_table(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    print()
    print(
        "| services | predeploy gate (s) | shell baseline (s) | baseline/gate | T+10 (s) "
        "| API req/phase (gate) | API req (T+10) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, s in sizes.items():
        if "predeploy" in s:
            print(
                f"| {n} | {s['predeploy']['median_s']:.2f} | {s['shell']['median_s']:.2f} "
                f"| {s['ratio_shell_over_gate']:.1f}x | {s['t_plus_10']['median_s']:.2f} "
                f"| {s['predeploy']['api_requests_per_phase']:.0f} "
                f"| {s['t_plus_10']['api_requests_median']:.0f} |"
            )
    print()
    print("| services | gonogo T+10 (s) | curl, same HTTP probes (s) | gonogo / curl |")
    print("|---:|---:|---:|---:|")
    for n, s in sizes.items():
        if "t_plus_10_curl" in s:
            print(
                f"| {n} | {s['t_plus_10']['median_s']:.2f} "
                f"| {s['t_plus_10_curl']['median_s']:.2f} | {s['ratio_t10_over_curl']:.1f}x |"
            )
    print()
    print("| services | pytest peak RSS, predeploy gate (MiB) | pytest peak RSS, T+10 (MiB) |")
    print("|---:|---:|---:|")
    for n, s in sizes.items():
        if "predeploy" in s:
            print(
                f"| {n} | {_cell(s['predeploy'].get('peak_rss_mib'), '.0f')} "
                f"| {_cell(s['t_plus_10'].get('peak_rss_mib'), '.0f')} |"
            )
    print()
    print(
        "| services | gonogo one service (s) | kubectl one service (s) | ratio "
        "| gonogo complete (s) | kubectl, the rest (s) | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, s in sizes.items():
        rollback, kubectl = s.get("rollback", {}), s.get("kubectl_rollback", {})
        if rollback:
            print(
                f"| {n} | {_cell(rollback.get('one_service_seconds'))} "
                f"| {_cell(kubectl.get('one_service_seconds'))} "
                f"| {_cell(s.get('ratio_one_service_over_kubectl'), '.2f', 'x')} "
                f"| {_cell(rollback.get('seconds'))} | {_cell(kubectl.get('seconds'))} "
                f"| {_cell(s.get('ratio_rollback_over_kubectl'), '.2f', 'x')} |"
            )


if __name__ == "__main__":
    sys.exit(main())
