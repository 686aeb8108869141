"""Landing assets: every source table into the warehouse's `raw` schema.

CRM tables land incrementally (cursor on updated_at, tombstones for deletes). File sources
are daily-partitioned; a range of days runs in one run, each day in its own transaction.
"""

import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg

from core.crm_map import MapError
from core.crm_map import load as load_crm_map
from core.settings import reload_unchanged_days
from pipelines.ingest import lake
from pipelines.ingest.crm import CRM_TABLES, CrmTable, extract_table
from pipelines.ingest.daily import ensure_table, land_days, unchanged_days
from pipelines.ingest.loader import (
    RAW_SCHEMA,
    PartitionReport,
    ensure_bookkeeping,
    ensure_raw_table,
)
from pipelines.ingest.progress import source_bar
from pipelines.ingest.sources import FILE_SOURCES, STREAM_SOURCES, FileSource
from pipelines.ingest.streams import STREAM_COLUMNS, StreamSource, land_stream_source
from pipelines.resources import WRITER_POOL, SourcesResource, WarehouseResource

# The first day a file source can hold; ACRM_HISTORY_START moves it for older exports.
HISTORY_START = os.environ.get("ACRM_HISTORY_START", "2024-01-01")
# Days in the call center's time zone; the last partition is yesterday, the last whole day.
daily = dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone="Europe/Moscow")


class LandingFailed(dg.Failure):
    pass


# A database that does not answer is retried: after 5 s, 10 s, 20 s (with jitter).
TRANSIENT_RETRIES = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _report_metadata(reports: list[PartitionReport]) -> dict:
    loaded = [r for r in reports if r.status == "loaded"]
    failed = [r for r in reports if r.status == "failed"]
    drift = sorted({c for r in reports for c in r.drift})
    metadata = {
        "dagster/row_count": sum(r.rows_loaded for r in loaded),
        "rows_read": sum(r.rows_read for r in loaded),
        "rows_quarantined": sum(r.rows_quarantined for r in loaded),
        "partitions_loaded": len(loaded),
        "partitions_failed": len(failed),
    }
    if drift:
        metadata["schema_drift"] = dg.MetadataValue.text(
            "unexpected columns kept in _extra: " + ", ".join(drift)
        )
    if failed:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- {r.partition}: {r.message}" for r in failed)
        )
    return metadata


def load_map(reference: str):
    """The CRM map, or a failure that names the map file, the key and the problem."""
    try:
        return load_crm_map(reference)
    except MapError as exc:
        raise LandingFailed(description=str(exc), allow_retries=False) from exc


def crm_table_asset(table: CrmTable) -> dg.AssetsDefinition:
    references = sorted(set((table.entity.references or {}).values()))

    @dg.asset(
        key=[RAW_SCHEMA, f"crm_{table.name}"],
        group_name="landing_crm",
        retry_policy=TRANSIENT_RETRIES,
        pool=WRITER_POOL,
        kinds={"duckdb"},
        # reference entities land first: the audit counts rows that do not join them
        deps=[dg.AssetKey([RAW_SCHEMA, f"crm_{name}"]) for name in references],
        description=f"The CRM's {table.entity.description}, read through the CRM map "
        "(ACRM_CRM_MAP): every version of every row since the first extraction "
        "(incremental on the map's cursor), tombstones for deletes.",
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            ensure_bookkeeping(con)
            crm_map = load_map(sources.crm_map)
            report = extract_table(con, sources.crm_url, table, str(uuid.uuid4()), crm_map)
            if report.status != "failed":
                lake.mirror(con, warehouse.lake_path, f"crm_{table.name}", by_day=False)
        if report.status == "failed":
            # a missing column will not fix itself; a database that did not answer may
            raise LandingFailed(description=report.message, allow_retries=report.transient)
        context.log.info(
            f"crm_{table.name}: {report.rows_read:,} changed rows read, "
            f"{report.rows_loaded:,} landed, {report.rows_quarantined:,} "
            f"quarantined {report.message}"
        )
        return dg.MaterializeResult(metadata=_report_metadata([report]))

    return _asset


def file_source_asset(source: FileSource) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, source.name],
        group_name=f"landing_{source.folder}",
        pool=WRITER_POOL,
        kinds={"polars", "duckdb"},
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=source.description,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        files = source.files_by_day(Path(sources.folder))
        keys = context.partition_keys
        # only the days of the run's range that have files: nothing is read for the others
        days = {key: files[d] for key in keys if (d := dt.date.fromisoformat(key)) in files}
        with warehouse.connect() as con:
            ensure_bookkeeping(con)
            same = set() if reload_unchanged_days() else unchanged_days(con, source, days)
        if same:
            context.log.info(
                f"{source.name}: {len(same):,} days unchanged since they landed (ACRM_RELOAD=1 "
                "lands them again)"
            )
        days = {day: paths for day, paths in days.items() if day not in same}
        total, done = len(days), 0

        def logged(rows: int, n_days: int) -> None:
            nonlocal done
            done += n_days
            context.log.info(f"{source.name}: {done}/{total} days with files, +{rows:,} rows")
            advance(n_days, rows)

        with warehouse.connect() as con, source_bar(source.name, total, "days") as advance:
            ensure_bookkeeping(con)
            ensure_table(con, source)
            reports = land_days(con, source, days, str(uuid.uuid4()), logged, warehouse.lake_path)
            lake.mirror_bookkeeping(con, warehouse.lake_path)
        failed = [r for r in reports if r.status == "failed"]
        metadata = _report_metadata(reports)
        metadata["days_without_files"] = len(keys) - len(days) - len(same)
        metadata["days_unchanged"] = len(same)
        if failed and len(failed) == len(reports):
            raise LandingFailed(
                description=f"every day with files failed: {failed[0].message}", metadata=metadata
            )
        for r in failed:  # the other days are landed; the failed ones keep their last state
            context.log.error(f"{source.name} {r.partition} failed: {r.message}")
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def stream_source_asset(source: StreamSource) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, source.name],
        group_name=f"landing_{source.folder}",
        pool=WRITER_POOL,
        kinds={"polars", "duckdb"},
        description=source.description,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        folder = Path(sources.folder)
        with warehouse.connect() as con:
            ensure_bookkeeping(con)
            contract = source.contract()
            ensure_raw_table(
                con, source.name, contract, after=source.prepare, columns=STREAM_COLUMNS
            )
            files = source.files(folder)
            with source_bar(source.name, len(files), "files") as advance:
                reports = land_stream_source(con, source, folder, str(uuid.uuid4()), advance)
            # writes only the days that differ from the lake's files (a crash after the
            # warehouse's commit included)
            lake.mirror(con, warehouse.lake_path, source.name, by_day=True)
        for r in reports:
            if r.status == "failed":
                context.log.error(f"{source.name} {r.partition} not landed: {r.message}")
        landed = [r for r in reports if r.status == "loaded"]
        context.log.info(
            f"{source.name}: {len(landed):,} files with new lines, "
            f"{sum(r.rows_loaded for r in landed):,} rows landed, "
            f"{sum(r.rows_quarantined for r in landed):,} quarantined"
        )
        if not (folder / source.folder).exists():
            context.log.warning(f"{source.name}: no folder {folder / source.folder}: no data")
        metadata = _report_metadata(reports)
        metadata["files_with_new_lines"] = len(reports)
        return dg.MaterializeResult(metadata=metadata)

    return _asset


crm_assets = [crm_table_asset(table) for table in CRM_TABLES]
file_assets = [file_source_asset(source) for source in FILE_SOURCES]
stream_assets = [stream_source_asset(source) for source in STREAM_SOURCES]
landing_assets = [*crm_assets, *file_assets, *stream_assets]
