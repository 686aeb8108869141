"""Run the main Dagster job in process (`acrm run`) and summarise what it published."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable

import duckdb

from core.crm_map import MapError, load, map_reference
from core.settings import Settings, crm_url
from pipelines.ingest.sources import FILE_SOURCES, STREAM_SOURCES

MAIN_JOB = "acrm_full_refresh"


class PipelineError(RuntimeError):
    pass


def run_all(settings: Settings, progress: Callable[[str], None]) -> dict:
    """Materialize every asset of the main job with the same definitions as `dagster dev`."""
    _check_sources(settings)
    started = time.monotonic()
    found = source_inventory(settings.sources)
    progress("sources: " + "; ".join(f"{name}: {what}" for name, what in found.items()))
    result, phases = _execute(settings, progress, started)
    if not result.success:
        failures = [
            f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
            for event in result.all_events
            if event.is_step_failure
        ]
        raise PipelineError(
            "the pipeline failed; the last published build is unchanged.\n  "
            + "\n  ".join(failures or ["see the Dagster logs above"])
        )
    failed = failed_partitions(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        landed = landed_by_source(con, "raw._load_audit")
        crm_notes = crm_audit_notes(con, "raw._load_audit")
    return {
        "rows_landed": landed,
        "crm_notes": crm_notes,
        "failed_partitions": failed,
        "run_id": result.run_id,
        "seconds": round(time.monotonic() - started, 1),
        "warehouse": str(settings.warehouse),
        "published": str(settings.published),
        "materialized": len(result.get_asset_materialization_events()),
        "phases": phases,
        "sources": found,
    }


def _check_sources(settings: Settings) -> None:
    if not (settings.sources / "crm" / "crm.sqlite").exists() and not os.environ.get(
        "ACRM_CRM_URL"
    ):
        raise PipelineError(
            f"no sources in {settings.sources}: run `acrm generate` first, or point "
            "--sources / ACRM_SOURCES at your exports"
        )
    check_crm_map(settings)


def _execute(settings: Settings, progress: Callable[[str], None], started: float):
    """The main job run in this process over the days that have files: (its result, the
    seconds per phase)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # lazy on purpose: Dagster and the definitions take seconds to import, and `acrm
    # summary` (which imports this module) never runs the pipeline
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.jobs import day_range_tags

    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    first, last = day_range(settings.sources)
    progress(f"days {first} to {last} of daily web and ad files")
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    progress(f"running job {MAIN_JOB}: sources {settings.sources} -> {settings.warehouse}")
    with instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags=day_range_tags(first.isoformat(), last.isoformat()),
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        phases = phase_seconds(instance, result.run_id, started)
    logging.getLogger("dagster").handlers.clear()
    return result, phases


# a step's phase: the first prefix its key starts with
PHASES = (
    ("raw__crm_", "land CRM"),
    ("raw__ga4_events", "land web (GA4)"),
    ("raw__cdr_calls", "land calls (CDR)"),
    ("raw__queue_log", "land queue_log"),
    ("raw__ad_spend", "land ad spend"),
    ("customer_identity_map", "identity"),
    ("warehouse_models", "dbt build"),
    ("mining__", "mining"),
    ("published__", "publish"),
)


def phase_seconds(instance, run_id: str, started: float) -> dict[str, float]:
    """Seconds per phase of a run, from its steps' start and end events; `start-up` is
    the time before the first step (definitions, the dbt manifest, the instance)."""
    begun, spent, first = {}, {}, None
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            begun[event.step_key] = entry.timestamp
            first = entry.timestamp if first is None else min(first, entry.timestamp)
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            phase = next((name for p, name in PHASES if event.step_key.startswith(p)), "other")
            took = entry.timestamp - begun.get(event.step_key, entry.timestamp)
            spent[phase] = spent.get(phase, 0.0) + took
    wall = time.time() - (time.monotonic() - started)
    out = {"start-up": round(first - wall, 1)} if first is not None else {}
    return (
        out
        | {name: round(spent[name], 1) for _, name in PHASES if name in spent}
        | ({"other": round(spent["other"], 1)} if "other" in spent else {})
    )


def check_crm_map(settings: Settings) -> None:
    """A map is validated before anything lands: its error names the file and the key."""
    try:
        load(map_reference(crm_url(settings)))
    except MapError as exc:
        raise PipelineError(str(exc)) from exc


def source_inventory(sources) -> dict[str, str]:
    """What each source folder holds: how many files, or that it is absent."""
    where = "ACRM_CRM_URL" if os.environ.get("ACRM_CRM_URL") else "crm/crm.sqlite"
    found = {"crm": f"{where}, map {map_reference(crm_url(Settings.load(sources=sources)))}"}
    counts = {s.name: len(s.files(sources)) for s in STREAM_SOURCES} | {
        s.name: sum(map(len, s.files_by_day(sources).values())) for s in FILE_SOURCES
    }
    for name, count in counts.items():
        found[name] = f"{count:,} files" if count else "none (no data)"
    return found


def day_range(sources) -> tuple[dt.date, dt.date]:
    """The days of the daily-file sources; yesterday alone when there are none, so their
    (empty) tables are still made and every report can say it has no data."""
    days = sorted({day for source in FILE_SOURCES for day in source.files_by_day(sources)})
    if not days:
        yesterday = dt.date.today() - dt.timedelta(days=1)
        return yesterday, yesterday
    return days[0], days[-1]


SOURCE_NAMES = {
    "crm": "CRM",
    "cdr_calls": "call center (calls/)",
    "queue_log": "call-center queues (calls/queue_log)",
    "ga4_events": "website (web/)",
    "ad_spend": "ad platforms (ads/)",
}


def landed_by_source(con: duckdb.DuckDBPyConnection, audit: str = "ops.load_audit") -> dict:
    """Rows landed so far per source (the CRM's tables together); 0 is a source with no data."""
    rows = dict(
        con.execute(
            "select case when source like 'crm_%' then 'crm' else source end, "
            f"sum(rows_loaded)::bigint from {audit} where status = 'loaded' group by 1"
        ).fetchall()
    )
    return {SOURCE_NAMES[key]: int(rows.get(key) or 0) for key in SOURCE_NAMES}


def crm_audit_notes(con: duckdb.DuckDBPyConnection, audit: str = "ops.load_audit") -> dict:
    """Per CRM entity, what its latest load said: absent (and what stays empty), rows that
    did not join their reference, approximations, deletes."""
    rows = con.execute(
        "select source, message from (select source, message, status, row_number() over "
        f"(partition by source order by finished_at desc) as attempt from {audit} "
        "where source like 'crm_%') where attempt = 1 and status = 'loaded' and message <> '' "
        "order by source"
    ).fetchall()
    return {source.removeprefix("crm_"): message for source, message in rows}


def failed_loads(con: duckdb.DuckDBPyConnection, audit: str = "raw._load_audit") -> list[dict]:
    """Days or tables whose latest load attempt failed (their previous state is kept);
    `audit` is raw._load_audit in the pipeline's file, ops.load_audit in the published one."""
    rows = con.execute(
        "select source, coalesce(unit, partition_key), message from ("
        "  select *, row_number() over (partition by source, coalesce(unit, partition_key) "
        f"  order by finished_at desc) as attempt from {audit}) "
        "where attempt = 1 and status = 'failed' order by all"
    ).fetchall()
    return [{"source": s, "partition": p, "message": m} for s, p, m in rows]


def failed_partitions(settings: Settings) -> list[dict]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return failed_loads(con)


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, without Dagster's wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip() if error else "unknown error"


def summarize(settings: Settings) -> dict:
    if not settings.published.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.published}: run `acrm run` first"
        )
    with duckdb.connect(str(settings.published), read_only=True) as con:

        def one(sql: str) -> object:
            rows = con.execute(sql).fetchall()
            return rows[0][0] if rows else None

        marts = con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts' "
            "order by table_name"
        ).fetchall()
        numbers = {
            "customers": one("select count(*) from marts.dim_customers where customer_key <> -1"),
            "deals": one("select count(*) from marts.fct_deals"),
            "won deals": one("select count(*) from marts.fct_deals where is_won"),
            "win rate": "{:.1%}".format(
                one(
                    "select avg(case when is_won then 1.0 else 0 end) from marts.fct_deals "
                    "where not is_open"
                )
                or 0
            ),
            "paid orders": one("select count(*) from marts.fct_orders where is_paid"),
            "revenue": round(float(one("select sum(revenue) from marts.fct_orders") or 0), 2),
            "top channel by revenue": one(
                "select c.channel from marts.fct_orders o join marts.dim_channels c "
                "using (channel_key) group by 1 order by sum(o.revenue) desc limit 1"
            )
            or "(no orders)",
        }
        quarantined = dict(
            con.execute(
                "select source, sum(quarantined_rows)::bigint from ops.quarantine "
                "group by 1 order by 1"
            ).fetchall()
        )
        failed = failed_loads(con, "ops.load_audit")
        landed = landed_by_source(con)
        crm_notes = crm_audit_notes(con)
    return {
        "sources": landed,
        "crm_notes": crm_notes,
        "published": str(settings.published),
        "numbers": numbers,
        "marts": {name: rows for name, rows in marts},
        "quarantined_rows": quarantined,
        "failed_loads": failed,
    }
