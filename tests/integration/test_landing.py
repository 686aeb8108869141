"""Landing on real files in a temporary warehouse: nothing lost, idempotent, crash-safe."""

import csv
import io
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from core.formats import CDR_COLUMNS, CDR_NEW_COLUMNS
from pipelines.ingest.crm import TABLES_BY_NAME, extract_table
from pipelines.ingest.daily import ensure_table, land_days
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import AD_SPEND, CDR, GA4
from pipelines.ingest.streams import StreamSource, land_stream_source

DAYS = ("2025-03-03", "2025-03-04", "2025-03-05")


@pytest.fixture
def sources(small_sources: Path, tmp_path: Path) -> Path:
    """Three days of every file source, and the CRM, copied so a test may damage them."""
    out = tmp_path / "sources"
    for day in DAYS:
        (out / "calls").mkdir(parents=True, exist_ok=True)
        shutil.copy(small_sources / "calls" / f"Master-{day}.csv", cdr_file(out, day))
    shutil.copytree(small_sources / "ads", out / "ads")  # reports span months: all of them
    for source in (GA4,):
        for day, paths in source.files_by_day(small_sources).items():
            if day.isoformat() in DAYS:
                for path in paths:
                    target = out / path.relative_to(small_sources)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target)
    (out / "crm").mkdir()
    shutil.copy(small_sources / "crm" / "crm.sqlite", out / "crm" / "crm.sqlite")
    return out


@pytest.fixture
def warehouse(tmp_path: Path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_bookkeeping(con)
    return path


def load(warehouse: Path, source, sources: Path, days=DAYS) -> list:
    """Daily sources: the given days. CDR files: whatever they add (a report per file)."""
    if isinstance(source, StreamSource):
        with duckdb.connect(str(warehouse)) as con:
            return land_stream_source(con, source, sources, str(uuid.uuid4()))
    files = {str(day): paths for day, paths in source.files_by_day(sources).items()}
    with duckdb.connect(str(warehouse)) as con:
        ensure_table(con, source)
        chosen = {day: files[day] for day in days if day in files}
        return land_days(con, source, chosen, str(uuid.uuid4()), lake=warehouse.parent / "lake")


def query(warehouse: Path, sql: str, params=None) -> list:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def cdr_file(sources: Path, day: str) -> Path:
    return sources / "calls" / f"Master-{day}.csv"


def append_lines(path: Path, lines: list[str]) -> None:
    text = path.read_bytes().decode("utf-8").rstrip("\n")
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(sources, warehouse) -> None:
    day = DAYS[1]
    path = cdr_file(sources, day)
    # an answered call, so the bad variants below break exactly the rules they name
    answered = CDR_COLUMNS.index("disposition")
    good = next(
        line
        for line in path.read_text().splitlines()
        if next(csv.reader([line]))[answered] == "ANSWERED"
    )
    fields = next(csv.reader([good]))

    def variant(**changes: str) -> str:
        row = dict(zip((*CDR_COLUMNS, *CDR_NEW_COLUMNS), fields, strict=True)) | changes
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(row.values())
        return out.getvalue()

    append_lines(
        path,
        [
            '"only","three","fields"',
            variant(duration="-5", uniqueid="bad-1"),
            variant(end="2025-03-04 00:00:01", uniqueid="bad-2"),
            variant(disposition="HUNG UP", uniqueid="bad-3"),
            variant(start="2099-01-01 10:00:00", end="2099-01-01 10:05:00", uniqueid="bad-4"),
            good,  # the same call twice
        ],
    )
    ga4 = sources / "web" / f"events_{day.replace('-', '')}.ndjson.gz"
    import gzip

    lines = gzip.decompress(ga4.read_bytes()).decode().splitlines()
    lines += [
        '{"event_name": "page_view", "oops"',
        lines[0],
        lines[1].replace('"event_name":"', '"event_nam":"'),
    ]
    ga4.write_bytes(gzip.compress("\n".join(lines).encode()))

    reports = load(warehouse, CDR, sources) + load(warehouse, GA4, sources)
    assert all(r.status == "loaded" for r in reports)
    audit = query(
        warehouse,
        "select source, file, rows_read, rows_loaded, rows_quarantined "
        "from raw._load_audit where status = 'loaded'",
    )
    for source, file, read, loaded, quarantined in audit:
        assert read == loaded + quarantined, (source, file)
    reasons = dict(
        query(
            warehouse, "select line_number, reason from raw._quarantine where source = 'cdr_calls'"
        )
    )
    n = len(path.read_text().splitlines())
    assert reasons == {
        n - 5: "malformed CSV line: missing columns",
        n - 4: "duration is negative; talk time longer than the call",
        n - 3: "end before start",
        n - 2: "disposition: unknown value 'HUNG UP' (expected one of ANSWERED, NO ANSWER, "
        "BUSY, FAILED, CONGESTION)",
        n - 1: "start is in the future; end is in the future; answered before the call started",
        n: "duplicate of an earlier row in this batch",
    }
    raw = query(
        warehouse,
        "select raw_content, file from raw._quarantine where source = "
        "'cdr_calls' and line_number = ?",
        [n - 5],
    )
    assert raw == [('"only","three","fields"', path.name)]
    web = query(
        warehouse,
        "select reason from raw._quarantine where source = 'ga4_events' order by line_number",
    )
    assert [r[0].split(":")[0] for r in web] == [
        "not a JSON object",
        "duplicate of an earlier row in this batch",
        "event_name is missing",
    ]


def test_an_unreadable_file_fails_only_that_file(sources, warehouse) -> None:
    cdr_file(sources, DAYS[0]).write_bytes(b"\x98\x98 not a CDR \x98")
    reports = {r.partition: r for r in load(warehouse, CDR, sources)}
    assert [r.status for _, r in sorted(reports.items())] == ["failed", "loaded", "loaded"]
    failure = reports[f"calls/Master-{DAYS[0]}.csv"]
    assert "Master-2025-03-03.csv: the text is neither UTF-8 nor cp1251" in failure.message
    assert query(warehouse, "select count(distinct _source_file) from raw.cdr_calls") == [(2,)]
    failed = query(warehouse, "select unit, status from raw._load_audit where status = 'failed'")
    assert failed == [(f"calls/Master-{DAYS[0]}.csv", "failed")]


def test_a_new_column_is_kept_and_a_missing_required_one_fails_the_file(sources, warehouse) -> None:
    mytarget = sources / "ads" / "mytarget" / f"mytarget_{DAYS[0]}.csv"
    lines = mytarget.read_text().splitlines()
    mytarget.write_text(
        "\n".join([lines[0] + ",conversions"] + [f"{x},7" for x in lines[1:]]) + "\n"
    )
    unisender = sources / "ads" / "unisender" / f"unisender_{DAYS[1]}.csv"
    header, *rows = unisender.read_text().splitlines()
    keep = [i for i, c in enumerate(header.split(",")) if c != "spend"]
    unisender.write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *rows]) + "\n"
    )
    reports = {r.partition: r for r in load(warehouse, AD_SPEND, sources)}
    added = reports[f"ads/mytarget/{mytarget.name}"]
    assert added.status == "loaded" and added.drift == ["conversions"]
    failed = reports[f"ads/unisender/{unisender.name}"]
    assert failed.status == "failed"
    assert (
        f"{unisender.name}: line 1 is a ACRM ad CSV header without the required column(s) "
        "spend" in failed.message
    )
    extra = query(
        warehouse,
        "select distinct _extra from raw.ad_spend where platform = 'mytarget' and _partition = ?",
        [DAYS[0]],
    )
    assert extra == [('{"conversions":"7"}',)]


def test_loading_three_times_leaves_the_same_warehouse(sources, warehouse) -> None:
    def fingerprint() -> list:
        tables = {
            "cdr_calls": "uniqueid",
            "ga4_events": "_line_number, _source_file",
            "ad_spend": "platform, campaign_id",
        }
        result = []
        for table, order in tables.items():
            result += query(
                warehouse,
                f"select count(*), sum(hash(columns(* exclude "
                f"(_batch_id, _loaded_at)))) from raw.{table}",
            )
            del order
        return result

    prints = []
    for _ in range(3):
        for source in (CDR, GA4, AD_SPEND):
            load(warehouse, source, sources)
        prints.append(fingerprint())
    assert prints[0] == prints[1] == prints[2]
    assert prints[0][0][0] > 0


CRASH = """
import sys, uuid, duckdb
from pathlib import Path
from pipelines.ingest.sources import CDR
from pipelines.ingest.streams import land_stream_source
with duckdb.connect(sys.argv[1]) as con:
    land_stream_source(con, CDR, Path(sys.argv[2]), str(uuid.uuid4()))
"""


@pytest.mark.parametrize("point", ["after_delete", "before_commit"])
def test_a_crash_mid_load_keeps_the_previous_day_and_a_rerun_succeeds(
    sources, warehouse, point: str
) -> None:
    load(warehouse, CDR, sources)
    before = query(warehouse, "select count(*) from raw.cdr_calls where _partition = ?", [DAYS[1]])
    path = cdr_file(sources, DAYS[1])
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace('"DOCUMENTATION"', '"BILLING"')
    path.write_text("\n".join(lines) + "\n")  # a landed line changed: the file lands again
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, str(warehouse), str(sources), DAYS[1]],
        env={**__import__("os").environ, "ACRM_FAULT_INJECT": f"{point}:cdr_calls"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr  # killed like a lost machine
    assert (
        query(warehouse, "select count(*) from raw.cdr_calls where _partition = ?", [DAYS[1]])
        == before
    )
    rerun = subprocess.run(
        [sys.executable, "-c", CRASH, str(warehouse), str(sources), DAYS[1]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert (
        query(warehouse, "select count(*) from raw.cdr_calls where _partition = ?", [DAYS[1]])
        == before
    )


def test_a_late_file_lands_in_its_own_day(sources, warehouse, tmp_path: Path) -> None:
    late = cdr_file(sources, DAYS[1])
    held = tmp_path / late.name
    shutil.move(late, held)
    first = load(warehouse, CDR, sources)
    assert [r.status for r in first] == ["loaded", "loaded"]
    others = query(
        warehouse, "select _partition, count(*) from raw.cdr_calls group by 1 order by 1"
    )
    shutil.move(held, late)
    assert [r.partition for r in load(warehouse, CDR, sources)] == [f"calls/{late.name}"]
    after = query(warehouse, "select _partition, count(*) from raw.cdr_calls group by 1 order by 1")
    assert [row for row in after if str(row[0]) != DAYS[1]] == others
    assert any(str(row[0]) == DAYS[1] and row[1] > 0 for row in after)


def test_crm_updates_and_deletes_land_as_new_versions_and_tombstones(sources, warehouse) -> None:
    url = f"sqlite://{sources / 'crm' / 'crm.sqlite'}"
    deals = TABLES_BY_NAME["deals"]
    with duckdb.connect(str(warehouse)) as con:
        first = extract_table(con, url, deals, "b1")
    with sqlite3.connect(sources / "crm" / "crm.sqlite") as crm:
        crm.execute(
            "update deals set status = 'lost', updated_at = '2025-12-31 23:59:59' where deal_id = 1"
        )
        crm.execute("delete from deals where deal_id = 2")
        crm.execute(
            "update deals set amount = -1, updated_at = '2025-12-31 23:59:59' where deal_id = 3"
        )
    with duckdb.connect(str(warehouse)) as con:
        second = extract_table(con, url, deals, "b2")
        third = extract_table(con, url, deals, "b3")
    assert first.rows_loaded == first.rows_read
    assert second.rows_loaded == 1 and second.rows_quarantined == 1
    assert second.message == "1 deleted"
    assert third.rows_loaded == 0 and third.message == ""  # nothing changed since
    versions = query(
        warehouse,
        "select status, _deleted from raw.crm_deals where deal_id = 1 order by _loaded_at",
    )
    assert versions == [(versions[0][0], False), ("lost", False)]
    assert query(
        warehouse, "select _deleted from raw.crm_deals where deal_id = 2 order by _loaded_at"
    ) == [(False,), (True,)]
    assert query(warehouse, "select reason from raw._quarantine where source = 'crm_deals'") == [
        ("amount is negative",)
    ]


def test_a_severe_expectation_failure_blocks_the_build_and_publication(
    sources, tmp_path: Path
) -> None:
    import gzip
    import json

    import dagster as dg

    from core.publication import read_manifest
    from core.settings import Settings
    from pipelines.definitions import build_definitions
    from pipelines.publish.publisher import publish

    ga4 = sources / "web" / f"events_{DAYS[0].replace('-', '')}.ndjson.gz"
    lines = gzip.decompress(ga4.read_bytes()).decode().splitlines()
    event = json.loads(lines[0])
    event["event_params"].append(
        {"key": "engagement_time_msec", "value": {"int_value": 10**10}}
    )  # 115 days on one page
    event["event_params"] = event["event_params"][-1:] + event["event_params"][:-1]
    lines.append(json.dumps(event))
    ga4.write_bytes(gzip.compress("\n".join(lines).encode()))

    settings = Settings.load(tmp_path / "w" / "acrm.duckdb", sources)
    # the last good publication, which the failed build must leave in place
    previous = tmp_path / "previous.duckdb"
    with duckdb.connect(str(previous)) as con:
        con.execute("create schema marts; create table marts.last_good as select 1 as build")
    publish(previous, settings.published)
    last_good = read_manifest(settings.published)["build_id"]
    job = build_definitions(settings).resolve_job_def("acrm_full_refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={
                "dagster/asset_partition_range_start": DAYS[0],
                "dagster/asset_partition_range_end": DAYS[-1],
            },
        )
    checks = {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "great_expectations"
    }
    assert not checks["raw/ga4_events"].passed
    assert checks["raw/cdr_calls"].passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "raw/ga4_events" in materialized and "raw/cdr_calls" in materialized
    assert "marts/fct_deals" not in materialized
    assert "published/warehouse" not in materialized
    assert read_manifest(settings.published)["build_id"] == last_good
    with duckdb.connect(str(settings.published), read_only=True) as con:
        assert con.execute("select build from marts.last_good").fetchall() == [(1,)]
