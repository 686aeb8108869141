"""The Parquet raw layer: a folder a day, read by engines that know nothing of ACRM."""

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from pipelines.ingest import lake
from pipelines.ingest.daily import ensure_table, land_days
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import GA4


def event(day: str, name: str, second: int) -> str:
    stamp = int(dt.datetime.strptime(day, "%Y%m%d").timestamp()) + second
    return json.dumps(
        {
            "event_date": day,
            "event_timestamp": str(stamp * 1_000_000),
            "event_name": name,
            "user_pseudo_id": "1.2",
            "device": {"category": "desktop"},
        }
    )


def pyarrow_counts(root: Path, table: str) -> dict[str, int]:
    data = ds.dataset(root / "raw" / table, format="parquet", partitioning="hive").to_table()
    days = data.column("day").to_pylist()
    return {str(d): days.count(d) for d in sorted(set(days))}


@pytest.fixture
def web(tmp_path: Path) -> Path:
    folder = tmp_path / "sources" / "web"
    folder.mkdir(parents=True)
    for day, n in (("20250303", 2), ("20250304", 3)):
        lines = [event(day, "page_view", i) for i in range(n)]
        (folder / f"events_{day}.json").write_text("\n".join(lines) + "\n")
    return folder.parent


@pytest.fixture
def con():
    """An in-memory warehouse with the bookkeeping and GA4's raw table."""
    with duckdb.connect() as connection:
        ensure_bookkeeping(connection)
        ensure_table(connection, GA4)
        yield connection


def land(con, sources: Path, root: Path, only: str | None = None) -> None:
    days = {str(d): p for d, p in GA4.files_by_day(sources).items()}
    land_days(con, GA4, {d: p for d, p in days.items() if only in (None, d)}, "b", lake=root)


def test_the_lake_holds_each_landed_day_with_the_events_as_exported(con, web, tmp_path) -> None:
    root = tmp_path / "lake"
    land(con, web, root)
    lake.mirror_bookkeeping(con, root)
    assert pyarrow_counts(root, "ga4_events") == {"2025-03-03": 2, "2025-03-04": 3}
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == [
        "raw/_load_audit/data.parquet",
        "raw/_quarantine/data.parquet",
        "raw/ga4_events/day=2025-03-03/data.parquet",
        "raw/ga4_events/day=2025-03-04/data.parquet",
    ]
    row = duckdb.sql(
        f"select event_name, _extra from read_parquet('{root}/raw/ga4_events/*/*.parquet', "
        "hive_partitioning = true) where day = '2025-03-03' limit 1"
    ).fetchall()[0]
    assert row[0] == "page_view" and json.loads(row[1])["device"] == {"category": "desktop"}


def test_a_day_landed_again_replaces_its_file_and_leaves_no_staging(con, web, tmp_path) -> None:
    root = tmp_path / "lake"
    land(con, web, root)
    path = web / "web" / "events_20250304.json"
    path.write_text(event("20250304", "purchase", 9) + "\n")
    land(con, web, root, only="2025-03-04")
    assert pyarrow_counts(root, "ga4_events") == {"2025-03-03": 2, "2025-03-04": 1}
    leftovers = [p.name for p in (root / "raw" / "ga4_events").iterdir() if p.name[0] == "."]
    assert leftovers == []


def raw_calls(con) -> None:
    """A raw schema with its bookkeeping and two days of calls landed at one time."""
    con.execute(
        "create schema raw; "
        "create table raw._load_audit (finished_at timestamp); "
        "create table raw._quarantine (quarantined_at timestamp); "
        "create table raw.calls (id int, _partition date, _loaded_at timestamp); "
        "insert into raw.calls values (1, '2025-03-03', '2025-03-05 10:00'), "
        "(2, '2025-03-04', '2025-03-05 10:00')"
    )


def test_a_table_without_days_is_one_file_and_a_withdrawn_day_loses_its_file(tmp_path) -> None:
    root = tmp_path / "lake"
    with duckdb.connect() as con:
        raw_calls(con)
        lake.mirror(con, root, "calls", by_day=True)
        assert lake.days_in(root, "calls") == ["2025-03-03", "2025-03-04"]
        con.execute("delete from raw.calls where id = 2")
        lake.mirror(con, root, "calls", by_day=True)
        lake.write_whole(con, root, "crm_deals", "select 1 as deal_id")
        assert lake.days_in(root, "calls") == ["2025-03-03"]
    assert pyarrow_counts(root, "calls") == {"2025-03-03": 1}
    assert not (root / "raw" / "calls" / "day=2025-03-04" / "data.parquet").exists()
    assert ds.dataset(root / "raw" / "crm_deals" / "data.parquet").to_table().num_rows == 1


def test_a_mirror_writes_only_the_days_and_tables_that_changed(tmp_path) -> None:
    root = tmp_path / "lake"
    with duckdb.connect() as con:
        raw_calls(con)
        lake.mirror(con, root, "calls", by_day=True)
        files = {
            day: root / "raw" / "calls" / f"day={day}" / "data.parquet"
            for day in ("2025-03-03", "2025-03-04")
        }
        audit = root / "raw" / "_load_audit" / "data.parquet"
        before = {
            name: path.stat().st_mtime_ns for name, path in [*files.items(), ("audit", audit)]
        }
        assert lake.changed_days(con, root, "calls") == []
        # a row replaced on the 4th: same count, a later landing
        con.execute(
            "update raw.calls set _loaded_at = '2025-03-06 10:00' where id = 2; "
            "insert into raw.calls values (3, '2025-03-05', '2025-03-06 10:00')"
        )
        assert lake.changed_days(con, root, "calls") == ["2025-03-04", "2025-03-05"]
        lake.mirror(con, root, "calls", by_day=True)
        after = {name: path.stat().st_mtime_ns for name, path in [*files.items(), ("audit", audit)]}
    assert after["2025-03-03"] == before["2025-03-03"] and after["audit"] == before["audit"]
    assert after["2025-03-04"] != before["2025-03-04"]
    assert pyarrow_counts(root, "calls") == {"2025-03-03": 1, "2025-03-04": 1, "2025-03-05": 1}
