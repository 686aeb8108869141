"""A daily run rebuilds only what the new day touches, and the marts equal a full build's.

The small sources are copied with their last day of calls and web events held back; the
pipeline runs on them (a whole build), the day arrives, and the pipeline runs again. That
second build must run the models downstream of calls and web (and of the identity map
they feed), leave the CRM's dimensions and the ad spend alone, and give every mart the
rows of the session's warehouse, built once from all the files.
"""

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from acrm.pipeline import run_all
from core.settings import DBT_PROJECT_DIR, Settings
from pipelines.ingest.sources import GA4
from pipelines.warehouse.changes import state_dir
from tests.integration.equal_marts import differences, mart_tables


def hold_back_last_day(sources: Path, held: Path) -> None:
    last = max(GA4.files_by_day(sources))
    held.mkdir()
    for path in [*GA4.files_by_day(sources)[last], sources / "calls" / f"Master-{last}.csv"]:
        shutil.move(path, held / f"{path.parent.name}--{path.name}")


def bring_back(sources: Path, held: Path) -> None:
    for path in held.iterdir():
        folder, name = path.name.split("--", 1)
        shutil.move(path, sources / folder / name)
        os.utime(sources / folder / name)


def dbt_ran(run_id: str) -> set[str]:
    results = DBT_PROJECT_DIR / "target" / f"warehouse_models-{run_id[:8]}" / "run_results.json"
    return {r["unique_id"] for r in json.loads(results.read_text())["results"]}


@pytest.fixture(scope="module")
def daily(small_sources, tmp_path_factory):
    """(settings, the first run's report, the new day's report)."""
    work = tmp_path_factory.mktemp("daily")
    sources = work / "sources"
    shutil.copytree(small_sources, sources)
    hold_back_last_day(sources, work / "held")
    settings = Settings.load(work / "warehouse" / "acrm.duckdb", sources)
    first = run_all(settings, progress=lambda _: None)
    bring_back(sources, work / "held")
    return settings, first, run_all(settings, progress=lambda _: None)


def test_the_first_build_is_whole_and_leaves_its_state(daily) -> None:
    settings, first, _ = daily
    ran = dbt_ran(first["run_id"])
    assert "model.acrm.fct_calls" in ran and "model.acrm.dim_customers" in ran
    assert {p.name for p in state_dir(settings.warehouse).iterdir()} == {
        "manifest.json",
        "sources.json",
    }


def test_the_new_day_rebuilds_what_calls_and_web_feed_and_nothing_else(daily) -> None:
    _, first, second = daily
    ran = dbt_ran(second["run_id"])
    assert {"model.acrm.fct_calls", "model.acrm.fct_web_events"} <= ran
    assert not {"model.acrm.stg_ads__spend", "model.acrm.dim_customers"} & ran
    assert "seed.acrm.ad_platforms" not in ran
    assert len(ran) < len(dbt_ran(first["run_id"]))


def test_every_mart_equals_the_build_from_all_the_files(daily, built_warehouse) -> None:
    settings, _, _ = daily
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        con.execute(f"attach '{built_warehouse.warehouse}' as whole (read_only)")
        tables = mart_tables(con)
        differ = {table: found for table in tables if (found := differences(con, table))}
    assert len(tables) > 30
    assert differ == {}
