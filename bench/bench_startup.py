"""Start-up benchmark: how long ``icploop`` takes before it does anything.

    python bench/bench_startup.py            # 7 runs of each
    python bench/bench_startup.py --quick    # 3 runs of each

Each row runs the command line in a fresh interpreter, as a shell does. ``icploop --help`` and
``--version`` should take at most 0.5 s. ``icploop COMMAND --help`` imports the command's module
and stops before the command's own work, so its time is how long any command waits before it
starts working (target: at most 1 s). Wall seconds are the median of the runs; CPU seconds
(user plus system, the child's own) tell a slow start from a busy machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import table

SCRIPT = "import sys; from icploop.cli.main import app; app(sys.argv[1:], prog_name='icploop')"
COMMANDS = ["init", "load", "status", "metrics", "segments", "fit", "flags", "icp", "review",
            "model", "reasons", "serve", "user"]  # fmt: skip


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``icploop ARGS`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, check=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def row(args: list[str], runs: int, target: float) -> list[object]:
    timed(args)  # one run to warm the file cache and the bytecode
    results = [timed(args) for _ in range(runs)]
    wall = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    return [f"icploop {' '.join(args)}", f"{wall:.2f}", f"{cpu:.2f}", f"{target:.1f}",
            "met" if wall <= target else "missed"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    rows = [row(["--version"], runs, 0.5), row(["--help"], runs, 0.5)]
    rows += [row([command, "--help"], runs, 1.0) for command in COMMANDS]
    print(f"median of {runs} runs each, fresh interpreter per run\n")
    print(table(["command", "wall s", "CPU s", "target s", "target"], rows))


if __name__ == "__main__":
    main()
