"""Start, stop or report the services around the cluster on their own,
without the cluster: ``python -m gonogo_sandbox.services start|stop|status
[--state-dir DIR] [NAME ...]``. ``gonogo sandbox up`` is the usual way; this
is for working on one service, and for tests that need the services in a
process of their own."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import SandboxError
from gonogo_sandbox.services import ALL


def main(argv: list[str] | None = None) -> int:
    names = [s.NAME for s in ALL]
    parser = argparse.ArgumentParser(prog="python -m gonogo_sandbox.services")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"some of: {', '.join(names)}")
    parser.add_argument("--state-dir", type=Path, help="default: the sandbox's state directory")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(names)
    if unknown:
        wrong = ", ".join(sorted(unknown))
        parser.error(f"unknown service {wrong}; choose from {', '.join(names)}")
    cfg = SandboxConfig(state_dir=args.state_dir) if args.state_dir else SandboxConfig()
    chosen = [s for s in ALL if not args.names or s.NAME in args.names]
    if args.action == "stop":
        chosen.reverse()
    all_up = True
    for service in chosen:
        began = time.monotonic()
        try:
            if args.action == "start":
                service.start(cfg)
            elif args.action == "stop":
                service.stop(cfg)
        except SandboxError as e:
            print(f"{service.NAME}: {e}", file=sys.stderr)
            return 1
        up, address = service.status(cfg)
        all_up &= up
        took = f" ({time.monotonic() - began:.1f} s)" if args.action == "start" else ""
        print(f"{service.NAME:<13} {'up' if up else 'down':<5} {address}{took}")
    return 0 if args.action != "status" or all_up else 3


if __name__ == "__main__":
    sys.exit(main())
