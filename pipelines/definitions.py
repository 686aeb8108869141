"""The one code location: `dagster dev -m pipelines.definitions` and `acrm run` load this."""

import dagster as dg
from dagster_dbt import DbtCliResource

from core.settings import Settings
from pipelines import jobs
from pipelines.identity.assets import customer_identity_map
from pipelines.ingest.assets import landing_assets
from pipelines.ingest.sensors import new_source_files
from pipelines.mining.assets import mining_assets
from pipelines.publish.assets import published_postgresql, published_warehouse, report
from pipelines.quality.checks import quality_checks
from pipelines.resources import build_resources
from pipelines.warehouse.assets import warehouse_models
from pipelines.warehouse.project import DBT_EXECUTABLE, dbt_project


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, job and schedule, bound to one warehouse and one set of sources."""
    return dg.Definitions(
        assets=[
            *landing_assets,
            customer_identity_map,
            warehouse_models,
            *mining_assets,
            published_warehouse,
            published_postgresql,
            report,
        ],
        asset_checks=quality_checks,
        jobs=[jobs.full_refresh_job],
        schedules=[jobs.daily_schedule],
        sensors=[new_source_files],
        resources={
            **build_resources(settings),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        },
    )


defs = build_definitions(Settings.load())
