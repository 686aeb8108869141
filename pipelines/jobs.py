"""Jobs select assets through selections, never through hand-typed key lists."""

import dagster as dg

# The main job: land every source, build the warehouse, publish it.
everything = dg.AssetSelection.all()
full_refresh_job = dg.define_asset_job(
    name="acrm_full_refresh",
    selection=everything,
    description="Land every source, build the dbt warehouse and publish the read-only copy.",
)
daily_schedule = dg.ScheduleDefinition(
    job=full_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Moscow",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
