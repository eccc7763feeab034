"""Web benchmark: requests per second and latency (p50, p99) of the dashboard and the accounts
API, served by uvicorn on loopback over a demo workspace, next to the same server's floor.

    python bench/bench_web.py                   # 100k customers (first build takes minutes)
    python bench/bench_web.py --quick           # 2k customers
    python bench/bench_web.py --accounts 20000 --seconds 10 --connections 8

The workspace (demo company loaded, tagged as of 2026-10-31, the demo logins given passwords, an
API token for the RevOps login) is built once per size under ``bench/out/`` and reused; "build"
in the notes is its seconds, or "reused". The app runs as ``uvicorn --factory
icploop.web.app:app_from_env`` in its own process, so the load generator (httpx on asyncio, N
keep-alive connections) does not share its interpreter; both share the machine's cores.

The first dashboard request computes the analyses the app then caches (headline, NRR trend, top
segments): it is timed alone, from a fresh server, as "cold". Each endpoint then gets a warm-up
and a fixed measuring window. The floor is ``GET /static/style.css`` of the same server in the
same run; "x floor" is an endpoint's p50 over the floor's p50. Server and client CPU per request
(from /proc and the generator's own process time) tell a slow endpoint from a busy machine or a
saturated generator. Any non-2xx answer or transport error is an error: it is counted, listed
by status under the table, and the figures of that row do not count as valid. Peak RSS is the
server process's VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_main, measure, table

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = dt.date(2026, 10, 31)
SEED = 7
PAGE_SIZE = 50
READY = "bench-web.json"
BUILD_MEMORY = "6GB"


def prepare(folder: str, accounts: str) -> None:
    """Build the workspace: generate, load, tag, demo logins, one API token (child process)."""
    from icploop.cli.demo_run import DEMO_PASSWORD, demo_logins
    from icploop.config import load_settings
    from icploop.demo.generator import generate_company
    from icploop.fit.config import FitConfig
    from icploop.flags.routing import RoutingRules
    from icploop.flags.run import run_tagging
    from icploop.generations import open_analytics, writing
    from icploop.ingest.load import load_paths
    from icploop.store.database import open_store
    from icploop.web.auth import create_token

    ws = Path(folder)
    data = ws / "data"
    generate_company(data, accounts=int(accounts), seed=SEED, usage_format="parquet")
    settings = load_settings(ws)
    with writing(settings, "bench_web prepare") as writer:  # the next generation, swapped in
        writer.con.execute(f"SET memory_limit = '{BUILD_MEMORY}'")  # spill, not crowd the machine
        load_paths(writer, [data])
    backend = open_analytics(settings)
    store = open_store(settings)
    run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules(), send=False)
    backend.disconnect()
    shutil.rmtree(data)
    logins = demo_logins(ws)
    person = logins["revops"]
    with store() as session, session.begin():
        token = create_token(session, person, "bench", actor="bench")
    login = {"accounts": int(accounts), "seed": SEED, "email": person, "password": DEMO_PASSWORD}
    (ws / READY).write_text(json.dumps({**login, "token": token}))


def workspace(accounts: int) -> tuple[Path, dict[str, object], str]:
    """The benchmark workspace of this size (built if missing), its logins, and how it came."""
    ws = OUT / f"web-{accounts}"
    ready = ws / READY
    if ready.exists():
        info = json.loads(ready.read_text())
        if info.get("accounts") == accounts and info.get("seed") == SEED:
            return ws, info, "reused"
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    seconds, peak = measure(__file__, "prepare", [str(ws), str(accounts)])
    return ws, json.loads(ready.read_text()), f"built in {seconds:.0f} s, peak {peak:,.0f} MiB"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status in MiB (nan where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far, all its threads (nan without /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(ws: Path, port: int) -> subprocess.Popen[bytes]:
    """The real app under uvicorn, in its own process, answering on 127.0.0.1:PORT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPLOOP_")}
    env["ICPLOOP_WORKSPACE"] = str(ws.resolve())
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "icploop.web.app:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    log = ws / "server.log"  # a file, not a pipe nobody reads while the server runs
    with log.open("wb") as sink:
        server = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not answer within 60 s")


def log_in(base: str, email: str, password: str) -> str:
    """The session cookie from the login form's CSRF flow, as a real browser gets it."""
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        form = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if not found:
            raise RuntimeError("the login form has no CSRF token")
        done = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": found.group(1)}
        )
        if done.status_code != 303:
            raise RuntimeError(f"login failed: {done.status_code} {done.text[:300]}")
        return str(client.cookies["icploop_session"])


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: np.ndarray
    failures: Counter[str]
    server_cpu: float = float("nan")
    client_cpu: float = float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if len(self.latencies) else 0.0


async def hammer(
    base: str, path: str, headers: dict[str, str], connections: int, seconds: float
) -> Result:
    """``connections`` clients each sending ``GET path`` back to back for ``seconds``."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120, follow_redirects=False
    ) as client:
        start = time.perf_counter()
        stop = start + seconds

        async def one_client() -> None:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    response = await client.get(path)
                    await response.aread()
                    if not 200 <= response.status_code < 300:
                        failures[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return Result(len(latencies), sum(failures.values()), elapsed, np.asarray(latencies), failures)


def run(accounts: int, connections: int, seconds: float, warmup: float) -> None:
    ws, info, built = workspace(accounts)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(ws, port)
    try:
        started_mib = proc_status(server.pid, "VmRSS")
        cookie = log_in(base, str(info["email"]), str(info["password"]))
        page = {"Cookie": f"icploop_session={cookie}"}
        bearer = {"Authorization": f"Bearer {info['token']}"}
        with httpx.Client(base_url=base, timeout=600, follow_redirects=False) as client:
            t0 = time.perf_counter()
            first = client.get("/", headers=page)
            cold = time.perf_counter() - t0
            if first.status_code != 200:
                raise RuntimeError(f"dashboard answered {first.status_code}: {first.text[:300]}")
            listing = client.get(f"/api/v1/accounts?page=1&page_size={PAGE_SIZE}", headers=bearer)
            total = int(listing.json()["total"])
        last = max(1, -(-total // PAGE_SIZE))
        api = "/api/v1/accounts?page={}&page_size=" + str(PAGE_SIZE)
        endpoints: list[tuple[str, str, dict[str, str]]] = [
            ("floor: GET /static/style.css", "/static/style.css", {}),
            ("GET /api/v1/me (token check only)", "/api/v1/me", bearer),
            ("GET / (dashboard, cached analyses)", "/", page),
            ("GET /api/v1/accounts page 1", api.format(1), bearer),
            (f"GET /api/v1/accounts page {last // 2:,}", api.format(last // 2), bearer),
            (f"GET /api/v1/accounts page {last:,} (last)", api.format(last), bearer),
        ]
        results: list[tuple[str, Result]] = []
        for label, path, headers in endpoints:
            asyncio.run(hammer(base, path, headers, connections, warmup))
            cpu, mine = cpu_seconds(server.pid), time.process_time()
            result = asyncio.run(hammer(base, path, headers, connections, seconds))
            result.server_cpu = cpu_seconds(server.pid) - cpu
            result.client_cpu = time.process_time() - mine
            results.append((label, result))
        peak_mib = proc_status(server.pid, "VmHWM")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    floor = results[0][1].ms(50)
    rows = [
        [
            label,
            f"{r.requests:,}",
            f"{r.rps:,.0f}",
            f"{r.ms(50):.1f}",
            f"{r.ms(99):.1f}",
            f"{r.errors:,}",
            f"{1000 * r.server_cpu / max(r.requests, 1):.1f}",
            f"{1000 * r.client_cpu / max(r.requests, 1):.1f}",
            f"{r.ms(50) / floor:.1f}x" if floor else "n/a",
        ]
        for label, r in results
    ]
    header = [
        "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req",
        "client CPU ms/req", "p50 x floor",
    ]  # fmt: skip
    print(
        f"{accounts:,} customers ({total:,} accounts in the list), {connections} connections, "
        f"{seconds:g} s per endpoint after {warmup:g} s warm-up, one uvicorn worker\n"
    )
    print(table(header, rows))
    print(
        f"\ncold first dashboard request (computes and caches the analyses): {cold:.2f} s; "
        f"server RSS after start {started_mib:,.0f} MiB, peak {peak_mib:,.0f} MiB; "
        f"workspace {built}."
    )
    for label, r in results:
        if r.errors:
            what = ", ".join(f"{n:,} x {k}" for k, n in r.failures.most_common())
            print(f"\nFAILED: {label}: {what} (the server's log is server.log in the workspace).")


STEPS = {"prepare": prepare}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k customers, 2 s per endpoint")
    parser.add_argument("--accounts", type=int, help="customers in the demo company")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, help="measuring window per endpoint")
    args = parser.parse_args(argv)
    accounts = args.accounts or (2_000 if args.quick else 100_000)
    seconds = args.seconds or (2.0 if args.quick else 15.0)
    run(accounts, args.connections, seconds, warmup=min(3.0, seconds / 2))
    return 0


if __name__ == "__main__" and not child_main(STEPS):
    raise SystemExit(main())
