"""Run a command and write the peak resident set size of its largest process.

    python -m benchmarks.maxrss OUT_FILE COMMAND...

A fresh process per measured command, so ``getrusage(RUSAGE_CHILDREN)`` covers
that command alone: ``ru_maxrss`` is the peak RSS, in KiB, of the largest
process it ran (the command itself, or a descendant that grew larger). Exits
with the command's exit code."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: python -m benchmarks.maxrss OUT_FILE COMMAND...\n")
        return 2
    out, command = Path(argv[0]), argv[1:]
    code = subprocess.run(command, check=False).returncode
    out.write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
