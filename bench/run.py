"""Run every benchmark in this folder and write their tables to bench/RESULTS.md.

Each ``bench_*.py`` script prints a Markdown table (sizes, seconds, peak memory, ratio to a
baseline measured in the same run). This runner adds the machine the figures came from.

    python bench/run.py            # full sizes, rewrites RESULTS.md
    python bench/run.py --quick    # small sizes, prints only
    python bench/run.py metrics    # only bench_metrics.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """A one-paragraph description of this machine (no host names or paths)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="names of benchmarks to run (default all)")
    parser.add_argument("--quick", action="store_true", help="small sizes; do not write RESULTS.md")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    sections = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(done.stdout, end="")
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        sections.append(f"## {script.stem}\n\n{done.stdout.strip()}\n")
    if not args.quick and not args.only:
        today = dt.date.today().isoformat()
        header = f"# Benchmark results\n\nMeasured {today} on: {machine()}.\n\n"
        (HERE / "RESULTS.md").write_text(header + "\n".join(sections))
        print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
