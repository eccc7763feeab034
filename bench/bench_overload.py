"""Overload benchmark: the API under a fixed arrival rate with scoring uploads mixed in, and
how fast it answers again once the load stops.

    python bench/bench_overload.py               # 5,000 customers, 20 and 50 requests/s, 20 s each
    python bench/bench_overload.py --quick       # 2,000 customers, 20 and 50 requests/s, 8 s each
    python bench/bench_overload.py --rates 20 50 100 --seconds 30

The workspace is ``bench_web``'s (demo company loaded and tagged, an API token), with a fit
model trained once for the scoring calls. The app runs under uvicorn in its own process on
loopback. The load is open-loop, like real clients: request i is sent at ``i / rate`` seconds
whatever the answers before it did, on as many connections as it needs. Mixed in: the list
endpoints (accounts pages across the whole list, flags, ICP versions, who am I) and, every two
seconds, ``POST /api/v1/score`` with 5,000 accounts. Every request has a 10 s client timeout.

Per rate: requests sent, answers by status, timeouts (no answer in 10 s), p50 and p99 latency of
the answers, and the recovery: from the last request sent, the seconds until a fresh
``GET /api/v1/accounts`` is answered 200 within one second. 503 with ``Retry-After`` is the
server shedding load as designed and is counted apart; a 500 or a timeout is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import free_port, serve, workspace
from harness import table

TIMEOUT = 10.0
SCORE_EVERY = 2.0  # seconds between scoring uploads
SCORE_ROWS = 5_000
LIST_PATHS = ("/api/v1/flags", "/api/v1/icp/versions", "/api/v1/me")


def ensure_model(ws: Path) -> str:
    """Train the fit model the scoring calls use, once per workspace."""
    if (ws / "models" / "fit").exists():
        return "reused"
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "icploop"), "model", "train", "--workspace", str(ws)],
        check=True,
        capture_output=True,
    )
    return f"trained in {time.perf_counter() - started:.0f} s"


def score_body(ws: Path) -> dict[str, list[dict[str, str]]]:
    """5,000 of the workspace's accounts in the accounts layout (the warehouse fills the rest)."""
    import duckdb

    con = duckdb.connect(str(ws / "analytics.duckdb"), read_only=True)
    ids = [
        r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY account_id").fetchall()
    ]
    con.close()
    rows = (ids * (SCORE_ROWS // max(1, len(ids)) + 1))[:SCORE_ROWS]
    return {"records": [{"account_id": a} for a in rows]}


@dataclass
class Phase:
    rate: float
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    scoring: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    retry_after: bool = True
    recovery: float = float("nan")

    def ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else float("nan")


async def one(
    client: httpx.AsyncClient, phase: Phase, method: str, path: str, body: object | None
) -> None:
    started = time.perf_counter()
    try:
        response = await client.request(method, path, json=body)
        status = str(response.status_code)
        if response.status_code == 503 and "retry-after" not in response.headers:
            phase.retry_after = False
    except httpx.TimeoutException:
        status = "timeout"
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    phase.statuses[status] += 1
    if path == "/api/v1/score":
        phase.scoring[status] += 1
    if status not in ("200", "503"):
        phase.failures[f"{method} {path.split('?')[0]}: {status}"] += 1
    if status not in ("timeout",) and not status[0].isalpha():
        phase.latencies.append(time.perf_counter() - started)


async def recover(base: str, headers: dict[str, str]) -> float:
    """Seconds until ``GET /api/v1/accounts`` is answered 200 within one second."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=1.0) as client:
        while time.perf_counter() - started < 120:
            try:
                if (await client.get("/api/v1/accounts?page=1")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    return float("inf")


async def drive(
    base: str,
    headers: dict[str, str],
    phase: Phase,
    pages: int,
    body: dict[str, list[dict[str, str]]],
) -> None:
    """Send at ``phase.rate`` per second for ``phase.seconds``, then measure the recovery."""
    # idle connections are dropped after 1 s, before the server's 5 s keep-alive ends them: a
    # request sent on a connection the server is closing fails on the client's side alone
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=1.0)
    rng = random.Random(7)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=TIMEOUT
    ) as client:
        start = time.perf_counter()
        tasks = []
        n = int(phase.rate * phase.seconds)
        next_score = 0.0
        for i in range(n):
            due = start + i / phase.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if i / phase.rate >= next_score:
                next_score += SCORE_EVERY
                tasks.append(asyncio.create_task(one(client, phase, "POST", "/api/v1/score", body)))
                continue
            if i % 2:
                path = f"/api/v1/accounts?page={rng.randint(1, pages)}&page_size=50"
            else:
                path = LIST_PATHS[(i // 2) % len(LIST_PATHS)]
            tasks.append(asyncio.create_task(one(client, phase, "GET", path, None)))
        phase.recovery = await recover(base, headers)
        await asyncio.gather(*tasks)


def run(accounts: int, rates: Sequence[float], seconds: float) -> None:
    ws, info, built = workspace(accounts)
    trained = ensure_model(ws)
    body = score_body(ws)
    headers = {"Authorization": f"Bearer {info['token']}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(ws, port)
    phases = []
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            total = int(client.get("/api/v1/accounts?page=1&page_size=50").json()["total"])
            client.post("/api/v1/score", json={"records": body["records"][:10]})  # warm
        pages = max(1, -(-total // 50))
        for rate in rates:
            phase = Phase(rate, seconds)
            asyncio.run(drive(base, headers, phase, pages, body))
            phases.append(phase)
            time.sleep(2)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    log = (ws / "server.log").read_text(errors="replace")
    header = ["rate (req/s)", "sent", "200", "503 (shed)", "500", "timeouts", "other",
              "p50 ms", "p99 ms", "scoring 200 / 503", "recovery s"]  # fmt: skip
    rows = []
    for p in phases:
        s = p.statuses
        other = sum(n for k, n in s.items() if k not in ("200", "503", "500", "timeout"))
        rows.append([
            f"{p.rate:g}", f"{sum(s.values()):,}", f"{s['200']:,}", f"{s['503']:,}",
            f"{s['500']:,}", f"{s['timeout']:,}", f"{other:,}", f"{p.ms(50):.0f}",
            f"{p.ms(99):.0f}", f"{p.scoring['200']} / {p.scoring['503']}", f"{p.recovery:.1f}",
        ])  # fmt: skip
    print(
        f"{accounts:,} customers, {seconds:g} s per rate, open-loop arrivals, one scoring upload "
        f"of {SCORE_ROWS:,} rows every {SCORE_EVERY:g} s, {TIMEOUT:g} s client timeout, one "
        f"uvicorn worker\n"
    )
    print(table(header, rows))
    print(
        f"\nevery 503 carried Retry-After: {all(p.retry_after for p in phases)}; server log: "
        f"{log.count('Traceback')} tracebacks, {log.count('QueuePool limit')} pool exhaustions, "
        f"{log.count('database is locked')} 'database is locked'; workspace {built}, model "
        f"{trained}."
    )
    for p in phases:
        if p.failures:
            listed = ", ".join(f"{n} x {k}" for k, n in p.failures.most_common())
            print(f"\nFAILED at {p.rate:g} requests/s: {listed}")
    print(json.dumps({"ok": all(p.statuses["500"] == 0 and p.statuses["timeout"] == 0
                                and p.recovery <= 5 for p in phases)}))  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 customers, 8 s per rate")
    parser.add_argument("--accounts", type=int, help="customers in the demo company")
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 50.0])
    parser.add_argument("--seconds", type=float, help="seconds of load per rate")
    args = parser.parse_args(argv)
    accounts = args.accounts or (2_000 if args.quick else 5_000)
    run(accounts, args.rates, args.seconds or (8.0 if args.quick else 20.0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
