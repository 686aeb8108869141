"""The whole `acrm run`: a full refresh, then one new day, against a lower bound.

For each scale, on a copy of the generated sources:

1. the last day's web and call files are held back, and `acrm run` lands everything
   else into an empty warehouse (full refresh): seconds, seconds per phase, peak memory;
2. the held day comes back and `acrm run` runs again (one new day, end to end);
3. the lower bound: DuckDB's raw readers on every file source and connectorx on the CRM
   (bench/landing.py's lower bounds), plus dbt's own SQL: the seconds its models, seeds
   and tests spent executing (run_results.json), divided by its 2 threads.

The naive way is bench/landing.py's (row inserts); it is not run on the whole pipeline.
Usage: python bench/run.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from landing import bench_args, lower_bound, sources_at

from core.settings import DBT_PROJECT_DIR
from pipelines.ingest.sources import AD_SPEND, CDR, GA4

WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "started = time.monotonic()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    'sys.stderr.write(done.stderr.decode(errors="replace")[-3000:])\n'
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write(f'{time.monotonic() - started} {peak} {done.returncode}\\n')\n"
    "sys.stdout.buffer.write(done.stdout)\n"
)


def acrm_run(sources: Path, warehouse: Path) -> dict:
    """`acrm run --format json` in a fresh process: its report, wall seconds, peak RSS."""
    env = {**os.environ, "ACRM_SOURCES": str(sources), "ACRM_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)  # an ephemeral instance, as a first run on a new machine
    acrm = str(Path(sys.executable).with_name("acrm"))
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, acrm, "run", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    *log, last = done.stderr.strip().splitlines()
    seconds, peak_kb, code = last.split()
    if int(code) != 0:
        raise RuntimeError(f"acrm run failed ({code}) on {sources}:\n" + "\n".join(log[-20:]))
    report = json.loads(done.stdout)
    return {
        "seconds": round(float(seconds), 1),
        "peak_rss_gb": round(int(peak_kb) / 2**20, 2),
        "phases": report["phases"],
    }


def hold_back_last_day(sources: Path, held: Path) -> str:
    """Move the last day's GA4 and CDR daily files aside; return that day."""
    last = max(GA4.files_by_day(sources))
    held.mkdir(parents=True, exist_ok=True)
    for path in GA4.files_by_day(sources)[last]:
        shutil.move(path, held / f"web--{path.name}")
    cdr = sources / "calls" / f"Master-{last.isoformat()}.csv"
    if cdr.exists():
        shutil.move(cdr, held / f"calls--{cdr.name}")
    return last.isoformat()


def bring_back(sources: Path, held: Path) -> None:
    for path in held.iterdir():
        folder, name = path.name.split("--", 1)
        target = sources / folder / name
        shutil.move(path, target)
        os.utime(target)  # it arrives now


def newest_build(after: float) -> dict | None:
    """run_results.json of the newest dbt build since `after`."""
    runs = [
        p for p in DBT_PROJECT_DIR.glob("target/*/run_results.json") if p.stat().st_mtime >= after
    ]
    return json.loads(max(runs, key=lambda p: p.stat().st_mtime).read_text()) if runs else None


def dbt_sql_seconds(after: float) -> float:
    """Seconds dbt's nodes spent executing in the newest build since `after`, per thread."""
    results = newest_build(after)
    if results is None:
        return float("nan")
    threads = results.get("args", {}).get("threads") or 2
    return sum(r.get("execution_time") or 0 for r in results["results"]) / threads


def dbt_nodes_built(after: float) -> dict[str, int]:
    """How many models and tests the newest dbt build since `after` ran."""
    ran = [
        r["unique_id"].split(".")[0] for r in (newest_build(after) or {"results": []})["results"]
    ]
    return {kind: ran.count(kind) for kind in ("model", "test")}


def raw_read_seconds(folder: Path, work: Path) -> float:
    total = 0.0
    for source in (CDR, GA4, AD_SPEND):
        db = work / f"lb-{source.name}.duckdb"
        db.unlink(missing_ok=True)
        total += lower_bound(source, folder, db)[1]
    import connectorx as cx

    from pipelines.ingest.crm import CRM_TABLES

    url = f"sqlite://{folder / 'crm' / 'crm.sqlite'}"
    started = time.perf_counter()
    for table in CRM_TABLES:
        cx.read_sql(url, f"select * from {table.name}", return_type="arrow")
    return total + time.perf_counter() - started


def measure(scale: float, out: Path) -> dict:
    generated = sources_at(scale, out)
    work = out / f"run-{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    sources = work / "sources"
    shutil.copytree(generated, sources, copy_function=os.link)  # hard links: no copy
    warehouse = work / "warehouse" / "acrm.duckdb"
    day = hold_back_last_day(sources, work / "held")
    started = time.time()
    full = acrm_run(sources, warehouse)
    dbt_sql = dbt_sql_seconds(started)
    print(f"scale {scale:g} full refresh: {full}; dbt SQL {dbt_sql:.1f} s", flush=True)
    full["dbt_nodes"] = dbt_nodes_built(started)
    bring_back(sources, work / "held")
    second = time.time()
    new_day = acrm_run(sources, warehouse)
    new_day["dbt_nodes"] = dbt_nodes_built(second)
    print(f"scale {scale:g} one new day ({day}): {new_day}", flush=True)
    raw = raw_read_seconds(generated, work)
    bound = raw + dbt_sql
    return {
        "scale": scale,
        "full_refresh": full,
        "new_day": {"day": day, **new_day},
        "lower_bound_seconds": {"raw_read": round(raw, 1), "dbt_sql": round(dbt_sql, 1)},
        "full_refresh_vs_lower_bound": round(full["seconds"] / bound, 2),
    }


def main() -> None:
    args = bench_args(__doc__)
    results = []
    for scale in args.scales:
        result = measure(scale, args.out)
        results.append(result)
        full, new = result["full_refresh"], result["new_day"]
        print(
            f"scale {scale:g}: full refresh {full['seconds']:.0f} s (peak "
            f"{full['peak_rss_gb']:.1f} GB), {result['full_refresh_vs_lower_bound']:.2f}x the "
            f"lower bound {result['lower_bound_seconds']}; one new day {new['seconds']:.0f} s "
            f"(dbt built {new['dbt_nodes']} of {full['dbt_nodes']})",
            flush=True,
        )
        for phase, seconds in full["phases"].items():
            print(
                f"    {phase:>18}: {seconds:7.1f} s full, {new['phases'].get(phase, 0):7.1f} s "
                "new day"
            )
    report = args.out / "run.json"
    report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {report}")


if __name__ == "__main__":
    main()
