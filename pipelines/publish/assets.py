"""The published, read-only warehouse that the cube and BI tools read."""

from pathlib import Path

import dagster as dg

from acrm.settings import Settings
from pipelines.mining.assets import mining_assets
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
    target = Settings.load(warehouse=source).published
    publish(source, target)
    context.log.info(f"published {target}")
    return dg.MaterializeResult(metadata={"path": str(target), "bytes": target.stat().st_size})
