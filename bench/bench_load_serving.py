"""Load while serving: the web app's latency (p50, p99) while ``icploop load`` writes the next
generation of the same workspace, next to the same requests served alone.

    python bench/bench_load_serving.py --quick      # 2k customers
    python bench/bench_load_serving.py              # 20k customers

The workspace is bench_web's (demo company loaded and tagged, logins, an API token), served by
uvicorn in its own process. The demo company's export files (same size and seed) are kept
beside it and loaded again during the second window: the load copies the warehouse to its next
generation, writes there and swaps the link, while the app keeps answering from the generation
it started each request on. Each endpoint gets the same connections for the same window alone,
then for as long as the load runs (at least the window). Any non-2xx answer is an error: with
one writer and readers on read-only generations there should be none.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import OUT, PAGE_SIZE, SEED, free_port, hammer, log_in, serve, workspace
from harness import table


def export_files(accounts: int) -> Path:
    """The demo company's CSV/Parquet exports of this size, generated once."""
    folder = OUT / f"load-serving-{accounts}-data"
    if not (folder / "accounts.csv").exists():
        from icploop.demo.generator import generate_company

        generate_company(folder, accounts=accounts, seed=SEED, usage_format="parquet")
    return folder


def load_in_background(ws: Path, data: Path, done: dict[str, float]) -> threading.Thread:
    """``icploop load DATA`` on the served workspace in its own process; its seconds in done."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPLOOP_")}
    env["ICPLOOP_WORKSPACE"] = str(ws.resolve())

    def work() -> None:
        t0 = time.perf_counter()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "icploop"), "load", str(data), "--wait", "120"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        done["seconds"] = time.perf_counter() - t0
        done["rc"] = result.returncode
        if result.returncode:
            print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def run(accounts: int, connections: int, seconds: float) -> None:
    ws, info, built = workspace(accounts)
    data = export_files(accounts)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(ws, port)
    try:
        cookie = log_in(base, str(info["email"]), str(info["password"]))
        page = {"Cookie": f"icploop_session={cookie}"}
        bearer = {"Authorization": f"Bearer {info['token']}"}
        endpoints = [
            ("GET / (dashboard)", "/", page),
            ("GET /api/v1/accounts page 1", f"/api/v1/accounts?page=1&page_size={PAGE_SIZE}",
             bearer),
        ]  # fmt: skip
        rows: list[list[str]] = []
        failures: list[str] = []
        for label, path, headers in endpoints:
            asyncio.run(hammer(base, path, headers, connections, min(2.0, seconds)))  # warm
            alone = asyncio.run(hammer(base, path, headers, connections, seconds))
            done: dict[str, float] = {}
            thread = load_in_background(ws, data, done)
            during = asyncio.run(hammer(base, path, headers, connections, seconds))
            while thread.is_alive():  # keep measuring for as long as the load runs
                more = asyncio.run(hammer(base, path, headers, connections, 1.0))
                during.requests += more.requests
                during.errors += more.errors
                during.seconds += more.seconds
                during.latencies = np.concatenate([during.latencies, more.latencies])
                during.failures.update(more.failures)
            thread.join()
            for when, result in (("alone", alone), ("during the load", during)):
                if result.errors:
                    what = ", ".join(f"{n:,} x {k}" for k, n in result.failures.most_common())
                    failures.append(f"{label} {when}: {what}")
            rows.append([
                label, f"{alone.rps:,.0f}", f"{alone.ms(50):.1f}", f"{alone.ms(99):.1f}",
                f"{alone.errors:,}", f"{during.rps:,.0f}", f"{during.ms(50):.1f}",
                f"{during.ms(99):.1f}", f"{during.errors:,}",
                f"{done.get('seconds', float('nan')):.1f}" + ("" if not done.get("rc") else " (failed)"),
            ])  # fmt: skip
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    header = [
        "endpoint", "alone req/s", "alone p50 ms", "alone p99 ms", "alone errors",
        "during load req/s", "during load p50 ms", "during load p99 ms", "during load errors",
        "load s",
    ]  # fmt: skip
    print(
        f"{accounts:,} customers, {connections} connections, {seconds:g} s alone, then for as "
        f"long as icploop load runs (at least {seconds:g} s); one uvicorn worker; workspace "
        f"{built}\n"
    )
    print(table(header, rows))
    for line in failures:
        print(f"\nerrors: {line} (503 is the app shedding load: see ICPLOOP_WEB_MAX_ACTIVE)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k customers, 5 s windows")
    parser.add_argument("--accounts", type=int, help="customers in the demo company")
    parser.add_argument("--connections", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seconds", type=float, help="measuring window alone")
    args = parser.parse_args(argv)
    accounts = args.accounts or (2_000 if args.quick else 20_000)
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    run(accounts, args.connections, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
