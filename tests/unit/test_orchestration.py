"""Schedule, sensor and retries, evaluated as Dagster evaluates them."""

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs
from pipelines.ingest.sensors import new_source_files
from pipelines.jobs import daily_schedule


def test_the_daily_schedule_loads_yesterday_at_five_in_moscow() -> None:
    when = dt.datetime(2025, 3, 5, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    request = daily_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    assert request.partition_key == "2025-03-04"
    assert daily_schedule.cron_schedule == "0 5 * * *"
    assert daily_schedule.execution_timezone == "Europe/Moscow"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_sensor_asks_for_the_days_of_new_or_changed_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ACRM_SOURCES", str(tmp_path))
    write(tmp_path / "calls" / "Master-2025-03-03.csv", "x")
    write(tmp_path / "web" / "events_20250305.ndjson.gz", "y")
    first = new_source_files(dg.build_sensor_context(cursor=None))
    # a CDR file's rows carry their own days: the daily web file sets the range
    assert [r.tags["dagster/asset_partition_range_start"] for r in first.run_requests] == [
        "2025-03-05"
    ]
    assert first.run_requests[0].tags["dagster/asset_partition_range_end"] == "2025-03-05"

    quiet = new_source_files(dg.build_sensor_context(cursor=first.cursor))
    assert not quiet.run_requests and "no new or changed files" in quiet.skip_reason.skip_message

    late = tmp_path / "web" / "events_intraday_20250110.json"
    write(late, "z")
    changed = tmp_path / "web" / "events_20250305.ndjson.gz"
    write(changed, "changed")
    os.utime(changed, ns=(1, 1))
    again = new_source_files(dg.build_sensor_context(cursor=first.cursor))
    tags = again.run_requests[0].tags
    assert (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    ) == ("2025-01-10", "2025-03-05")
    assert len(json.loads(again.cursor)) == 3

    grown = tmp_path / "calls" / "Master-2025-03-03.csv"
    write(grown, "x\ny")  # a CDR file that grew: a run over the newest day lands its lines
    os.utime(grown, ns=(2, 2))
    calls = new_source_files(dg.build_sensor_context(cursor=again.cursor))
    assert calls.run_requests[0].tags["dagster/asset_partition_range_end"] == "2025-03-05"


def test_crm_landing_retries_with_exponential_backoff() -> None:
    asset_graph = defs.get_repository_def().asset_graph
    policy = asset_graph.get(dg.AssetKey(["raw", "crm_deals"])).assets_def.op.retry_policy
    assert policy.max_retries == 3 and policy.backoff == dg.Backoff.EXPONENTIAL


def test_the_sensor_and_schedule_are_in_the_definitions() -> None:
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {"new_source_files"}
    assert {s.name for s in repository.schedule_defs} == {"acrm_daily"}
