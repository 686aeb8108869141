"""Dagster for a team (tools/dagster-team.yaml): runs and event logs in a real PostgreSQL,
runs queued and started by the real dagster-daemon, and the DuckDB writer's tag limit
holding two launched runs of the main job apart."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from acrm.pipeline import MAIN_JOB, day_range
from core.settings import Settings
from pipelines.jobs import WRITER_TAG, day_range_tags
from tests.e2e.servers import stop
from tests.postgres_server import psql

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# Each run in one process: the multiprocess executor that tools/dagster-team.yaml's runs use
# by default starts a process per step, about 7 s of imports each on this machine, ~80
# steps a run (docs/DECISIONS.md); the queue, the launcher and the storage are the same.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
RUN_TIMEOUT = 1200  # seconds for both runs; the small sources take a few minutes each


@pytest.fixture(scope="module")
def team(postgres, small_sources: Path, tmp_path_factory: pytest.TempPathFactory):
    """A DAGSTER_HOME with the team configuration over database `dagster`, and the
    dagster-daemon running on it: (the environment the team's processes share, home)."""
    url, port = postgres
    psql(port, "create database dagster")
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copy(ROOT / "tools" / "dagster-team.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        # dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare
        # postgresql:// URL, whose server-side parameters break its NOTIFY
        "DAGSTER_POSTGRES_URL": url.replace("postgresql://", "postgresql+psycopg2://", 1).rsplit(
            "/", 1
        )[0]
        + "/dagster",
        "ACRM_WAREHOUSE": str(tmp_path_factory.mktemp("team-warehouse") / "acrm.duckdb"),
        "ACRM_SOURCES": str(small_sources),
    }
    # as a team sets up a new server: the storage's tables made once, before any process
    # shares them (two processes making them at once collide)
    subprocess.run([str(BIN / "dagster"), "instance", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    log = home / "daemon.log"
    with open(log, "w") as sink:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "pipelines.definitions", "-d", str(ROOT)],
            env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        yield env, home
    finally:
        stop(daemon, grace=60)


def _launch(env: dict, tags: dict) -> None:
    launched = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-m", "pipelines.definitions", "-d", str(ROOT),
         "-j", MAIN_JOB, "--tags", json.dumps(tags), "--config-json", json.dumps(IN_PROCESS)],
        env=env, cwd=ROOT, check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if launched.returncode != 0:
        pytest.fail(f"dagster job launch failed: {launched.stderr[-3000:]}")


def _finished(instance: dg.DagsterInstance, count: int) -> list[dg.RunRecord]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        records = instance.get_run_records()
        if len(records) >= count and all(r.dagster_run.is_finished for r in records):
            return records
        time.sleep(5)
    pytest.fail(f"the runs did not finish in {RUN_TIMEOUT} s: {instance.get_run_records()}")


def test_the_daily_job_runs_from_postgresql_one_writer_at_a_time(
    team, small_sources, monkeypatch
) -> None:
    env, home = team
    first, last = day_range(small_sources)
    tags = day_range_tags(first.isoformat(), last.isoformat())
    for _ in range(2):  # both queued at once: the writer tag limit must run them in turn
        _launch(env, tags)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", env["DAGSTER_POSTGRES_URL"])
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        records = sorted(_finished(instance, 2), key=lambda r: r.start_time)
        daemon_log = (home / "daemon.log").read_text()[-3000:]
        assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * 2, (
            daemon_log
        )
        for record in records:
            assert record.dagster_run.tags.items() >= {**WRITER_TAG, **tags}.items()
        assert records[1].start_time >= records[0].end_time  # never two writers at once
        key = dg.AssetKey(["published", "warehouse"])
        published = instance.get_latest_materialization_event(key)
        assert published is not None and published.run_id == records[1].dagster_run.run_id
    assert Settings.load(Path(env["ACRM_WAREHOUSE"])).published.exists()
    # and PostgreSQL itself holds them, read without Dagster
    with psycopg.connect(env["DAGSTER_POSTGRES_URL"].replace("+psycopg2", "")) as con:
        stored = con.execute("select run_id, status from runs").fetchall()
    assert set(stored) == {(r.dagster_run.run_id, "SUCCESS") for r in records}
