"""Jobs select assets through selections, never through hand-typed key lists."""

import datetime as dt

import dagster as dg

# The main job: land every source, build the warehouse, publish it.
everything = dg.AssetSelection.all() | dg.AssetSelection.all_asset_checks()
# Runs that write the DuckDB warehouse carry this tag; a team's queued run coordinator
# (tools/dagster-team.yaml) lets one such run at a time, as DuckDB allows one writer.
WRITER_TAG = {"acrm/writer": "duckdb"}
full_refresh_job = dg.define_asset_job(
    name="acrm_full_refresh",
    selection=everything,
    tags=WRITER_TAG,
    description="Land every source, build the dbt warehouse and publish the read-only copy.",
)


@dg.schedule(
    job=full_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Moscow",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    name="acrm_daily",
    description="Every morning: yesterday's files, the CRM's changes, the build, publish.",
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - dt.timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"daily:{yesterday}", partition_key=yesterday)


def day_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make the daily-partitioned assets load the days first..last at once."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
