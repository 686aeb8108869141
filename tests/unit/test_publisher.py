"""The publication: read-only files, the build inside the copy, Parquet folders that appear
whole, keyed hashes in place of customer ids, and ops tables without values or paths."""

import hashlib
import hmac
import os
from pathlib import Path

import duckdb
import pytest

from core.publication import PARQUET_LINK, read_build, read_manifest
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.publish import publisher
from pipelines.publish.publisher import publish


def warehouse_at(folder: Path, sources: Path) -> Path:
    warehouse = folder / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_bookkeeping(con)
        con.execute(
            "create schema marts; create schema mining;"
            "create table marts.dim_customers as select * from (values (1, 101, 'Moscow'), "
            "(2, 102, 'Kazan')) t(customer_key, customer_id, city);"
            "create table marts.fct_web_events as select * from (values "
            "('cookie.1', 1), ('cookie.1', 2), ('cookie.2', 3)) t(user_pseudo_id, n);"
            "insert into raw._quarantine (source, partition_key, file, line_number, reason, "
            "raw_content) values ('cdr_calls', '2025-01-05', 'Master.csv', 3, "
            "'billsec: ''12x'' is not a valid int64', 'secret line'),"
            "('crm_customers', null, 'customers', 7, 'email: unknown value ''a@b.c'' "
            "(expected one of x)', 'a@b.c');"
            "insert into raw._load_audit (source, file, status, message) values "
            f"('cdr_calls', 'Master.csv', 'failed', '{sources}/calls/Master.csv: broken'), "
            f"('cdr_calls', 'x.csv', 'failed', '{folder}/lake/raw/x: gone')"
        )
    return warehouse


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ACRM_PUBLISH_KEY", raising=False)
    sources = tmp_path / "sources"
    warehouse = warehouse_at(tmp_path, sources)
    target = tmp_path / "published" / "acrm.duckdb"
    publish(warehouse, target, sources)
    return warehouse, target, sources


def test_files_are_read_only_and_the_build_is_inside_the_copy(published) -> None:
    _, target, _ = published
    manifest = read_manifest(target)
    with duckdb.connect(str(target), read_only=True) as con:
        build = read_build(con)
    assert build["build_id"] == manifest["build_id"]
    assert (
        build["tables"]
        == manifest["tables"]
        == {
            "marts.dim_customers": 2,
            "marts.fct_web_events": 3,
        }
    )
    folder = (target.parent / PARQUET_LINK).resolve()
    assert folder.name == f"{PARQUET_LINK}-{build['build_id']}"
    assert target.stat().st_mode & 0o777 == 0o444
    for path in [folder, *folder.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o555 if path.is_dir() else 0o444), path
    assert not list(target.parent.glob(".*tmp"))  # nothing half-written is left


def test_customer_ids_are_keyed_hashes_stable_across_builds(published) -> None:
    warehouse, target, sources = published
    key = warehouse.with_name(warehouse.name + publisher.KEY_SUFFIX)
    assert key.stat().st_mode & 0o777 == 0o600
    expected = hmac.new(key.read_text().strip().encode(), b"101", hashlib.sha256).hexdigest()
    with duckdb.connect(str(target), read_only=True) as con:
        first = con.execute("select customer_id from marts.dim_customers order by 1").fetchall()
        visitors = con.execute(
            "select count(distinct user_pseudo_id), min(length(user_pseudo_id)) "
            "from marts.fct_web_events"
        ).fetchall()[0]
    assert expected in {c for (c,) in first} and visitors == (2, 64)
    publish(warehouse, target, sources)
    with duckdb.connect(str(target), read_only=True) as con:
        again = con.execute("select customer_id from marts.dim_customers order by 1").fetchall()
    assert again == first
    with duckdb.connect(str(warehouse), read_only=True) as con:  # the warehouse keeps ids
        assert con.execute("select min(customer_id) from marts.dim_customers").fetchall() == [
            (101,)
        ]


def test_ops_tables_carry_rules_and_relative_names_not_values_or_paths(published) -> None:
    _, target, _ = published
    with duckdb.connect(str(target), read_only=True) as con:
        reasons = {r for (r,) in con.execute("select reason from ops.quarantine").fetchall()}
        messages = {m for (m,) in con.execute("select message from ops.load_audit").fetchall()}
        columns = {c[0] for c in con.execute("describe ops.quarantine").fetchall()}
    assert reasons == {
        "billsec: '\u2026' is not a valid int64",
        "email: unknown value '\u2026' (expected one of x)",
    }
    assert messages == {"calls/Master.csv: broken", "lake/raw/x: gone"}
    assert "raw_content" not in columns


def test_only_the_newest_builds_are_kept(published, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse, target, sources = published
    monkeypatch.setenv("ACRM_PUBLISHED_BUILDS", "3")
    for _ in range(4):
        publish(warehouse, target, sources)
    assert len(list(target.parent.glob(f"{PARQUET_LINK}-*"))) == 3
    monkeypatch.setenv("ACRM_PUBLISHED_BUILDS", "1")
    publish(warehouse, target, sources)
    assert len(list(target.parent.glob(f"{PARQUET_LINK}-*"))) == 1


def test_a_build_folder_appears_only_whole(published, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse, target, sources = published
    seen = []
    seal = publisher._seal

    def watching(folder: Path) -> None:  # the files are written; the folder is not visible
        seen.append(sorted(p.name for p in target.parent.glob(f"{PARQUET_LINK}-*")))
        assert folder.name.startswith(".") and any(folder.rglob("*.parquet"))
        seal(folder)

    monkeypatch.setattr(publisher, "_seal", watching)
    before = sorted(p.name for p in target.parent.glob(f"{PARQUET_LINK}-*"))
    publish(warehouse, target, sources)
    assert seen == [before]


def test_a_failed_export_leaves_the_last_publication(published, monkeypatch) -> None:
    warehouse, target, sources = published
    before = read_manifest(target)["build_id"]

    def broken(folder: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(publisher, "_seal", broken)
    with pytest.raises(OSError, match="disk full"):
        publish(warehouse, target, sources)
    assert read_manifest(target)["build_id"] == before
    with duckdb.connect(str(target), read_only=True) as con:
        assert read_build(con)["build_id"] == before
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]
    assert os.path.exists(target.parent / PARQUET_LINK)
