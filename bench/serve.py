"""Serving under load: does one heavy query hold up everyone else?

A real `acrm serve` on the published warehouse of each scale (bench/warehouse.py builds it).
The latency of `/api/levels` and of small queries (each a different day, so none is a cache
hit) is measured idle (the lower bound), then while the heaviest allowed query runs over and
over: time functions over day x page x hour, with totals. Ours: the pool of read-only
connections; the naive way: one connection, as the server had before (one lock for all).
The ratio loaded/idle should stay within 2.

Usage: python bench/serve.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))
from landing import bench_args

ACRM = str(Path(sys.executable).with_name("acrm"))
HEAVY = {
    "measures": "page_views,visitors:growth",
    "rows": "date.day,content.page",
    "cols": "time.hour",
    "totals": "true",
}
SAMPLES = 40


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()
    return time.perf_counter() - started


def small_query(base: str, i: int) -> str:
    day = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
    query = {"measures": "revenue,orders", "rows": "channel.channel", "filter": f"date.day={day}"}
    return f"{base}/api/query?{urlencode(query)}"


def latencies(base: str) -> dict[str, float]:
    """Median seconds of the catalogue and of small queries."""
    levels = [get(f"{base}/api/levels") for _ in range(SAMPLES)]
    small = [get(small_query(base, i)) for i in range(SAMPLES)]
    return {"levels_s": statistics.median(levels), "small_query_s": statistics.median(small)}


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("acrm serve exited; see its output above")
        try:
            get(f"{base}/health")
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("acrm serve did not answer within 120 s")


def measure_server(warehouse: Path, connections: int, port: int) -> dict:
    env = {
        **os.environ,
        "ACRM_WAREHOUSE": str(warehouse),
        "ACRM_SERVE_CONNECTIONS": str(connections),
        "ACRM_SERVE_CACHE_MB": "0",  # every heavy answer is computed again
    }
    env.pop("ACRM_API_TOKEN", None)
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([ACRM, "serve", "--port", str(port)], env=env)
    try:
        wait_until_up(base, process)
        idle = latencies(base)
        heavy_url = f"{base}/api/query?{urlencode(HEAVY)}"
        heavy_s = get(heavy_url)
        stop, runs = threading.Event(), []

        def hammer() -> None:
            while not stop.is_set():
                runs.append(get(heavy_url))

        worker = threading.Thread(target=hammer)
        worker.start()
        time.sleep(min(heavy_s / 2, 2))  # the heavy query is under way
        loaded = latencies(base)
        stop.set()
        worker.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "connections": connections,
        "heavy_query_s": round(heavy_s, 3),
        "heavy_runs_during": len(runs),
        **{f"idle_{k}": round(v, 4) for k, v in idle.items()},
        **{f"loaded_{k}": round(v, 4) for k, v in loaded.items()},
        "levels_loaded_vs_idle": round(loaded["levels_s"] / idle["levels_s"], 2),
        "small_query_loaded_vs_idle": round(loaded["small_query_s"] / idle["small_query_s"], 2),
    }


def main() -> None:
    args = bench_args(__doc__)
    results = []
    for scale in args.scales:
        warehouse = args.out / f"warehouse-{scale:g}" / "acrm.duckdb"
        if not (warehouse.parent / "published" / "acrm.duckdb").exists():
            raise SystemExit(
                f"no published warehouse beside {warehouse}: run `python bench/warehouse.py "
                f"--scales {scale:g}` first (make bench does)"
            )
        for name, connections in (("ours", 3), ("naive, one connection", 1)):
            row = {"scale": scale, "way": name, **measure_server(warehouse, connections, 8790)}
            print(json.dumps(row), flush=True)
            results.append(row)
    report = args.out / "serve.json"
    report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'scale':>5} {'way':<22} {'heavy s':>8} {'levels x':>9} {'small query x':>14}")
    for r in results:
        print(
            f"{r['scale']:>5g} {r['way']:<22} {r['heavy_query_s']:>8.2f} "
            f"{r['levels_loaded_vs_idle']:>9.2f} {r['small_query_loaded_vs_idle']:>14.2f}"
        )
    print(f"\nloaded / idle latency, target at most 2; written to {report}")


if __name__ == "__main__":
    main()
