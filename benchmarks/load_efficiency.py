"""Requests per second per core: gonogo's load runner, plain Locust, wrk.

All three hit the same static file served by Debian's nginx on loopback, with
the same number of concurrent users/connections and no think time, for the
same duration. CPU time is the load generator's own (user + system, from
``getrusage`` of the finished child), so "per core" means per CPU-second the
generator burnt, whatever the machine's other work.

gonogo's runner and plain Locust use the very same user class (built by
``gonogo.integrations.load.users.build_user_class`` from one spec); the difference between
them is what gonogo's wrapper costs. wrk is a C event loop with no per-request
Python: it bounds what the endpoint and loopback allow.

    python -m benchmarks.load_efficiency --users 20 --seconds 15 --runs 3
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from gonogo.integrations.load.spec import LoadSpec

NGINX_PORT = 18090
BODY = "gonogo load benchmark\n" * 10


def start_nginx(workdir: Path) -> subprocess.Popen[bytes]:
    if not shutil.which("nginx"):
        raise SystemExit("nginx not found: run 'bash sandbox/install-deps.sh'")
    root = workdir / "www"
    root.mkdir()
    (root / "static.txt").write_text(BODY)
    (workdir / "logs").mkdir()
    (workdir / "tmp").mkdir()
    conf = workdir / "nginx.conf"
    conf.write_text(
        textwrap.dedent(f"""\
        worker_processes 1;
        daemon off;
        user root;
        pid {workdir}/nginx.pid;
        error_log {workdir}/logs/error.log warn;
        events {{ worker_connections 1024; }}
        http {{
            access_log off;
            keepalive_requests 1000000;
            client_body_temp_path {workdir}/tmp;
            proxy_temp_path {workdir}/tmp;
            fastcgi_temp_path {workdir}/tmp;
            uwsgi_temp_path {workdir}/tmp;
            scgi_temp_path {workdir}/tmp;
            server {{
                listen 127.0.0.1:{NGINX_PORT};
                root {root};
            }}
        }}
        """)
    )
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{NGINX_PORT}/static.txt", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"nginx did not answer on 127.0.0.1:{NGINX_PORT}; see {workdir}/logs")


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: list[str], cwd: Path) -> tuple[str, float, float]:
    """Output, wall seconds and CPU seconds of one finished child."""
    cpu0, t0 = child_cpu(), time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    wall, cpu = time.perf_counter() - t0, child_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout + done.stderr, wall, cpu


def gonogo_runner(spec_file: Path, workdir: Path) -> dict[str, Any]:
    out = workdir / "gonogo-result.json"
    _, wall, cpu = run_measured(
        [
            sys.executable,
            "-m",
            "gonogo.integrations.load.runner",
            "--spec",
            str(spec_file),
            "--out",
            str(out),
        ],
        workdir,
    )
    result = json.loads(out.read_text())
    requests = int(result["requests"])
    return {
        "requests": requests,
        "wall_s": wall,
        "cpu_s": cpu,
        "rps": requests / float(result["duration_s"]),
        "failures": int(result["failures"]),
    }


def plain_locust(spec_file: Path, spec: LoadSpec, workdir: Path) -> dict[str, Any]:
    locustfile = workdir / "locustfile.py"
    locustfile.write_text(
        textwrap.dedent(f"""\
        from pathlib import Path
        from gonogo.integrations.load.spec import LoadSpec
        from gonogo.integrations.load.users import build_user_class

        ProfileUser = build_user_class(LoadSpec.from_file(Path({str(spec_file)!r})))
        """)
    )
    output, wall, cpu = run_measured(
        [
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "--only-summary",
            "--json",
            "-u",
            str(spec.users),
            "-r",
            str(spec.spawn_rate),
            "-t",
            f"{int(spec.duration_s)}s",
            "--host",
            spec.base_url,
            "--loglevel",
            "WARNING",
        ],
        workdir,
    )
    start = output.index("[")
    stats = json.JSONDecoder().raw_decode(output[start:])[0]
    requests = sum(int(s["num_requests"]) for s in stats)
    failures = sum(int(s["num_failures"]) for s in stats)
    return {
        "requests": requests,
        "wall_s": wall,
        "cpu_s": cpu,
        "rps": requests / spec.duration_s,
        "failures": failures,
    }


def wrk(spec: LoadSpec, workdir: Path) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: run 'bash sandbox/install-deps.sh'")
    output, wall, cpu = run_measured(
        [
            "wrk",
            "-t1",
            f"-c{spec.users}",
            f"-d{int(spec.duration_s)}s",
            f"{spec.base_url}/static.txt",
        ],
        workdir,
    )
    m = re.search(r"(\d+) requests in ([0-9.]+)s", output)
    if not m:
        raise SystemExit(f"cannot read wrk's output: {output[-400:]}")
    requests, seconds = int(m.group(1)), float(m.group(2))
    return {
        "requests": requests,
        "wall_s": wall,
        "cpu_s": cpu,
        "rps": requests / seconds,
        "failures": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gonogo-loadbench-") as tmp:
        workdir = Path(tmp)
        nginx = start_nginx(workdir)
        try:
            spec = LoadSpec(
                base_url=f"http://127.0.0.1:{NGINX_PORT}",
                users=args.users,
                spawn_rate=float(args.users * 10),
                duration_s=float(args.seconds),
                paths={"/static.txt": 1},
                wait_min_s=0.0,
                wait_max_s=0.0,
                max_requests=50_000_000,
                request_timeout_s=10.0,
            )
            spec_file = spec.to_file(workdir / "spec.json")
            rows: dict[str, list[dict[str, Any]]] = {
                "gonogo runner": [],
                "plain locust": [],
                "wrk": [],
            }
            for n in range(args.runs):
                for name, run in (
                    ("gonogo runner", lambda: gonogo_runner(spec_file, workdir)),
                    ("plain locust", lambda: plain_locust(spec_file, spec, workdir)),
                    ("wrk", lambda: wrk(spec, workdir)),
                ):
                    r = run()
                    r["rps_per_core"] = r["requests"] / r["cpu_s"] if r["cpu_s"] else float("nan")
                    rows[name].append(r)
                    print(
                        f"  run {n + 1} {name}: {r['rps']:.0f} req/s, "
                        f"{r['rps_per_core']:.0f} req per CPU-second, {r['failures']} failures",
                        flush=True,
                    )
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=10)
    summary = {
        name: {
            "rps": statistics.median(r["rps"] for r in rs),
            "rps_per_core": statistics.median(r["rps_per_core"] for r in rs),
        }
        for name, rs in rows.items()
    }
    g, p, w = summary["gonogo runner"], summary["plain locust"], summary["wrk"]
    print()
    print("| generator | req/s (median) | req per CPU-second (median) |")
    print("|---|---:|---:|")
    for name, s in summary.items():
        print(f"| {name} | {s['rps']:.0f} | {s['rps_per_core']:.0f} |")
    print(f"\ngonogo runner / plain locust, per core: {g['rps_per_core'] / p['rps_per_core']:.0%}")
    print(f"gonogo runner / wrk, per core: {g['rps_per_core'] / w['rps_per_core']:.1%}")
    out = Path(__file__).resolve().parents[1] / "reports" / "benchmarks" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"users": args.users, "seconds": args.seconds, "runs": rows, "summary": summary},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
