"""Measuring one workload in a fresh process: wall seconds and that process's own peak memory.

Each measured step runs as ``python SCRIPT --child NAME ARGS...`` so that its peak resident
memory (``ru_maxrss`` of the child itself) is not inflated by whatever ran before it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def child_main(steps: dict[str, Callable[..., None]]) -> bool:
    """In a child process: run the named step, print seconds and peak MiB as JSON; True if ran."""
    if len(sys.argv) < 3 or sys.argv[1] != "--child":
        return False
    name, args = sys.argv[2], sys.argv[3:]
    start = time.perf_counter()
    steps[name](*args)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))
    return True


def measure(script: str, name: str, args: Sequence[str] = ()) -> tuple[float, float]:
    """Run one step of ``script`` in a child process: (seconds, peak MiB) of the step itself."""
    done = subprocess.run(
        [sys.executable, script, "--child", name, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["peak_mib"])


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
