"""A sensor that launches the main job when source files arrive or change.

The cursor remembers each file's size and modification time; new or changed files ask for
a run over the days they belong to (reloading a day is idempotent).
"""

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from core.settings import Settings
from pipelines.ingest.sources import FILE_SOURCES, STREAM_SOURCES
from pipelines.jobs import day_range_tags, full_refresh_job


def file_states(sources: Path) -> dict[str, dict]:
    """{path: {"day": ISO day, "stamp": "mtime_ns:size"}} of every source file."""
    states = {}
    for source in FILE_SOURCES:
        for day, paths in source.files_by_day(sources).items():
            for path in paths:
                stat = path.stat()
                states[str(path)] = {
                    "day": day.isoformat(),
                    "stamp": f"{stat.st_mtime_ns}:{stat.st_size}",
                }
    for source in STREAM_SOURCES:  # their rows' days are inside: the run lands what is new
        for path in source.files(sources):
            stat = path.stat()
            states[str(path)] = {"day": None, "stamp": f"{stat.st_mtime_ns}:{stat.st_size}"}
    return states


def changed_days(previous: dict[str, str], current: dict[str, dict]) -> list[str]:
    """Days of the daily files that are new or changed; a changed stream file (a CDR that
    grew) asks for a run too, over the newest day the daily files have."""
    changed = [state for path, state in current.items() if previous.get(path) != state["stamp"]]
    days = {state["day"] for state in changed if state["day"]}
    if not days and changed:
        known = [state["day"] for state in current.values() if state["day"]]
        yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        days = {max(known) if known else yesterday}
    return sorted(days)


@dg.sensor(
    job=full_refresh_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the main job over the days whose source files are new or changed.",
)
def new_source_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    sources = Settings.load().sources
    current = file_states(sources)
    previous = json.loads(context.cursor) if context.cursor else {}
    days = changed_days(previous, current)
    cursor = json.dumps({path: state["stamp"] for path, state in current.items()})
    if not days:
        return dg.SensorResult(
            skip_reason=f"no new or changed files under {sources}", cursor=cursor
        )
    request = dg.RunRequest(
        # a stable digest: Python's hash() changes per process and would defeat dedupe
        run_key=f"files:{days[0]}:{days[-1]}:{hashlib.sha256(cursor.encode()).hexdigest()[:16]}",
        tags=day_range_tags(days[0], days[-1]),
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor)
