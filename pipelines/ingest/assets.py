"""Landing assets: every source table into the warehouse's `raw` schema."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.ingest import readers
from pipelines.ingest.loader import RAW_SCHEMA, replace_table
from pipelines.resources import WRITER_POOL, SourcesResource, WarehouseResource


def crm_table_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, f"crm_{table}"],
        group_name="landing_crm",
        pool=WRITER_POOL,
        kinds={"sqlite", "duckdb"},
        description=f"The CRM's `{table}` table, landed as it is, with lineage columns.",
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        data = readers.read_crm_table(sources.crm_url, table)
        with warehouse.connect() as con:
            loaded = replace_table(con, f"crm_{table}", data, source=f"crm:{table}")
        context.log.info(f"landed {loaded['rows']:,} rows of CRM table {table}")
        return dg.MaterializeResult(
            metadata={"dagster/row_count": loaded["rows"], "batch_id": loaded["batch_id"]}
        )

    return _asset


def file_source_asset(
    name: str,
    folder: str,
    pattern: str,
    reader: Callable[[Path], pl.DataFrame],
    kind: str,
    description: str,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=[RAW_SCHEMA, name],
        group_name=f"landing_{folder}",
        pool=WRITER_POOL,
        kinds={kind, "polars", "duckdb"},
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> dg.MaterializeResult:
        files = sorted((Path(sources.folder) / folder).glob(pattern))
        if not files:
            raise readers.SourceError(
                f"no {pattern} files in {Path(sources.folder) / folder}; "
                "run `acrm generate` or point --sources / ACRM_SOURCES at your exports"
            )
        frames = []
        for i, path in enumerate(files, 1):
            frames.append(reader(path))
            if i % 50 == 0 or i == len(files):
                context.log.info(f"{name}: read {i}/{len(files)} files")
        data = pl.concat(frames, how="vertical")
        with warehouse.connect() as con:
            loaded = replace_table(con, name, data, source=f"{folder}/{pattern}")
        context.log.info(f"landed {loaded['rows']:,} rows from {len(files)} files into {name}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": loaded["rows"],
                "files": len(files),
                "batch_id": loaded["batch_id"],
            }
        )

    return _asset


crm_assets = [crm_table_asset(table) for table in readers.CRM_TABLES]
cdr_calls = file_source_asset(
    "cdr_calls",
    "calls",
    "Master-*.csv",
    readers.read_cdr_file,
    "csv",
    "Asterisk CDR rows (Master.csv columns) from the call center, one file per day.",
)
ga4_events = file_source_asset(
    "ga4_events",
    "web",
    "events_*.ndjson*",
    readers.read_ga4_file,
    "json",
    "GA4 BigQuery-export events, one row per event, useful event_params as typed columns.",
)
ad_spend = file_source_asset(
    "ad_spend",
    "ads",
    "*/*.csv",
    readers.read_ad_file,
    "csv",
    "Daily spend, impressions and clicks per campaign, one file per ad platform and day.",
)

landing_assets = [*crm_assets, cdr_calls, ga4_events, ad_spend]
