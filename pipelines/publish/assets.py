"""The published, read-only warehouse that the cube and BI tools read."""

from pathlib import Path

import dagster as dg

from core.publication import read_manifest, safe_url
from core.settings import Settings, publish_to
from pipelines.mining.assets import mining_assets
from pipelines.publish.postgresql import publish_postgresql
from pipelines.publish.publisher import publish
from pipelines.resources import WRITER_POOL, WarehouseResource
from pipelines.warehouse.assets import warehouse_models

# Published after the whole build (every dbt model and its tests, every mining table).
BUILD_KEYS = sorted(warehouse_models.keys) + [a.key for a in mining_assets]


@dg.asset(
    key=["published", "warehouse"],
    deps=BUILD_KEYS,
    group_name="serving",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="A read-only copy of the last good build (published/acrm.duckdb beside the "
    "warehouse file), swapped in atomically after every successful build.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    source = Path(warehouse.path)
    settings = Settings.load(warehouse=source)
    target = settings.published
    publish(source, target, settings.sources)
    manifest = read_manifest(target)
    context.log.info(f"published {target} (build {manifest['build_id']})")
    return dg.MaterializeResult(
        metadata={
            "path": str(target),
            "bytes": target.stat().st_size,
            "build_id": manifest["build_id"],
            "parquet": str(target.parent / manifest["parquet"]),
            "tables": len(manifest["tables"]),
        }
    )


@dg.asset(
    key=["published", "postgresql"],
    deps=[published_warehouse],
    group_name="serving",
    kinds={"postgres"},
    description="The publication loaded into PostgreSQL (ACRM_PUBLISH_TO) for BI tools on a "
    "shared server: staged, checked against the copy's row counts and swapped in by renaming "
    "schemas in one transaction. Without the setting it says so and publishes nothing.",
)
def published_postgresql(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    url = publish_to()
    if url is None:
        return dg.MaterializeResult(
            metadata={"published": "no: ACRM_PUBLISH_TO is not set (a postgresql:// URL)"}
        )
    published = Settings.load(warehouse=Path(warehouse.path)).published
    done = publish_postgresql(published, url, context.log.info)
    return dg.MaterializeResult(metadata={"published": f"to {safe_url(url)}", **done})


@dg.asset(
    key=["published", "report"],
    deps=[published_warehouse],
    group_name="serving",
    kinds={"html", "plotly"},
    description="The directors' report (published/report.html): funnel, manager scorecard, "
    "ROMI by channel and attribution model, retention cohorts, N·V·L, call load, top content; "
    "each view names what to act on. Built from the publication, so it needs no writer.",
)
def report(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from cubes.report import report_path, write_report

    published = Settings.load(warehouse=Path(warehouse.path)).published
    views = write_report(published, report_path(published))
    return dg.MaterializeResult(
        metadata={
            "path": str(report_path(published)),
            **{f"act_on_{view.key}": view.finding for view in views},
        }
    )
