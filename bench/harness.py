"""Measuring one workload in a fresh process: wall seconds and that process's own peak memory.

Each measured step runs as ``python SCRIPT --child NAME ARGS...`` so that its peak resident
memory (VmHWM of the child itself) is not inflated by whatever ran before it.
"""

from __future__ import annotations

import importlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def own_peak_kib() -> int:
    """This process's own peak resident memory (KiB).

    VmHWM belongs to the address space created at exec, so it starts afresh in each child.
    ru_maxrss does not: Linux carries the parent's high-water mark over into a forked child,
    which made every step report at least the driver's own peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_main(steps: dict[str, Callable[..., None]], preload: Sequence[str] = ()) -> bool:
    """In a child process: run the named step, print seconds and peak MiB as JSON; True if ran.

    ``preload`` names modules imported before the clock starts, so that the seconds are the
    workload's and not the interpreter loading libraries (the same for every engine compared).
    """
    if len(sys.argv) < 3 or sys.argv[1] != "--child":
        return False
    name, args = sys.argv[2], sys.argv[3:]
    for module in preload:
        importlib.import_module(module)
    start, cpu_start = time.perf_counter(), time.process_time()
    steps[name](*args)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_mib = own_peak_kib() / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mib": peak_mib}))
    return True


def measure(script: str, name: str, args: Sequence[str] = ()) -> tuple[float, float]:
    """Run one step of ``script`` in a child process: (seconds, peak MiB) of the step itself."""
    seconds, _, peak_mib = measure_cpu(script, name, args)
    return seconds, peak_mib


def measure_cpu(script: str, name: str, args: Sequence[str] = ()) -> tuple[float, float, float]:
    """:func:`measure` with the step's CPU seconds (all its threads): (seconds, CPU seconds,
    peak MiB). On a machine shared with other work the wall seconds of two steps run minutes
    apart can stretch by different factors; their CPU seconds barely move."""
    done = subprocess.run(
        [sys.executable, script, "--child", name, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu_seconds"]), float(result["peak_mib"])


def measure_median(
    script: str, name: str, args: Sequence[str] = (), runs: int = 3
) -> tuple[float, float]:
    """:func:`measure` ``runs`` times: the median seconds and the largest peak MiB.

    On a shared machine one run can be 10-15% off; the median of three is steadier.
    """
    seconds, _, peak = measure_median_cpu(script, name, args, runs)
    return seconds, peak


def measure_median_cpu(
    script: str, name: str, args: Sequence[str] = (), runs: int = 3
) -> tuple[float, float, float]:
    """:func:`measure_cpu` ``runs`` times: the median seconds, the median CPU seconds and the
    largest peak MiB."""
    results = [measure_cpu(script, name, args) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        max(r[2] for r in results),
    )


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
