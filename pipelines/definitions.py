"""The one code location: `dagster dev -m pipelines.definitions` and `acrm run` load this."""

import dagster as dg

from pipelines import jobs
from pipelines.ingest.definitions import defs as ingest_defs
from pipelines.publish.definitions import defs as publish_defs
from pipelines.resources import default_resources
from pipelines.warehouse.definitions import defs as warehouse_defs

defs = dg.Definitions.merge(
    ingest_defs,
    warehouse_defs,
    publish_defs,
    dg.Definitions(
        jobs=[jobs.full_refresh_job],
        schedules=[jobs.daily_schedule],
        resources=default_resources(),
    ),
)
