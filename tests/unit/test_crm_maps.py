"""CRM maps: the shipped ones are valid, a bad one fails before anything lands with an error
naming the file, the key and the problem, and the readers take each CRM's export shapes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core.crm_map import MapError, init_text, load, shipped_maps
from core.crm_schema import ENTITIES
from cubes.acrm import measures_without
from pipelines.ingest.crm import TABLES_BY_NAME, extract_table
from pipelines.ingest.crm_source import open_source, read_entity, records_of, scratch
from pipelines.ingest.loader import ensure_bookkeeping

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"


def write_map(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "my.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_every_shipped_map_is_valid_and_the_sample_map_has_every_entity() -> None:
    assert set(shipped_maps()) == {"sample", "csv", "hubspot", "salesforce", "amocrm", "bitrix24"}
    for name in shipped_maps():
        crm_map = load(name)
        assert crm_map.name == name and "deals" in crm_map.entities
    assert set(load("sample").entities) == set(ENTITIES)


def test_init_starts_from_a_shipped_map_and_loads_again(tmp_path: Path) -> None:
    path = write_map(tmp_path, init_text("hubspot"))
    assert path.read_text().startswith("# A CRM map for ACRM, started from the shipped `hubspot`")
    assert set(load(str(path)).entities) == set(load("hubspot").entities)


def test_an_unknown_entity_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    path = write_map(tmp_path, "name: x\nentities:\n  deal: {table: deals}\n")
    with pytest.raises(MapError) as error:
        load(str(path))
    assert str(error.value) == f"{path}: entities: unknown entity 'deal' (did you mean 'deals'?)"


def test_an_unknown_canonical_column_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    path = write_map(tmp_path, "entities:\n  deals:\n    table: d\n    columns: {amout: x}\n")
    with pytest.raises(
        MapError,
        match=r"entities.deals.columns: unknown column 'amout' of deals "
        r"\(did you mean 'amount'\?\)",
    ):
        load(str(path))


def test_bad_sql_and_unknown_keys_are_caught_when_the_map_loads(tmp_path: Path) -> None:
    bad_sql = write_map(tmp_path, "entities:\n  deals:\n    table: d\n    filter: 'a = = b'\n")
    with pytest.raises(MapError, match=r"entities.deals.filter: not valid SQL"):
        load(str(bad_sql))
    bad_key = write_map(tmp_path, "entities:\n  deals:\n    tabel: d\n")
    with pytest.raises(MapError, match=r"unknown key 'tabel' \(did you mean 'table'\?\)"):
        load(str(bad_key))
    with pytest.raises(MapError, match=r"'hubspt' is no shipped map .*did you mean 'hubspot'"):
        load("hubspt")


def csv_map_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(load("csv").path)).read_text(encoding="utf-8")
    assert old in text
    return write_map(tmp_path, text.replace(old, new))


def test_a_source_column_the_export_lacks_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    path = csv_map_with(
        tmp_path,
        "      amount: amount\n",
        "      amount: amout\n",
    )
    crm_map = load(str(path))
    with pytest.raises(MapError) as error:
        read_entity(crm_map, "deals", open_source(f"csv://{FIXTURES / 'csv'}"))
    message = str(error.value)
    assert message.startswith(f"{path}: entities.deals.columns.amount: unknown column 'amout'")
    assert "(did you mean 'amount'?)" in message


def test_a_value_map_that_misses_a_stage_stops_the_entity(tmp_path: Path) -> None:
    path = csv_map_with(
        tmp_path,
        'status: {expr: "lower(trim(status))"}',
        "status: {column: stage, values: {Lead: open, Qualified: open, Proposal: open, Won: won}}",
    )
    crm_map = load(str(path))
    with pytest.raises(MapError) as error:
        read_entity(crm_map, "deals", open_source(f"csv://{FIXTURES / 'csv'}"))
    assert str(error.value) == (
        f"{path}: entities.deals.columns.status.values: 'Demo' of stage is not in the value "
        "map: add it, or a `default` (valid: Lead, Qualified, Proposal, Won)"
    )


def test_a_missing_required_table_names_the_source_and_its_tables(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "csv", folder)
    (folder / "deals.csv").rename(folder / "deal.csv")
    with pytest.raises(
        MapError,
        match=r"entities.deals.table: table 'deals' is not in "
        rf"csv://{folder} \(did you mean 'deal'\?\)",
    ):
        read_entity(load("csv"), "deals", open_source(f"csv://{folder}"))


def test_without_reference_files_members_come_from_the_deals_and_the_audit_says_so(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(FIXTURES / "csv" / "deals.csv", folder / "deals.csv")
    source, crm_map = open_source(f"csv://{folder}"), load("csv")
    managers = read_entity(crm_map, "managers", source)
    # 'Анна Иванова' and 'анна  иванова' are one manager; the deal without one has none
    assert managers.rows.height == 4 and managers.rows["manager_id"].n_unique() == 4
    assert any("managers.csv missing" in note for note in managers.notes)
    history = read_entity(crm_map, "deal_stage_history", source)
    assert history.rows.height == 12  # one row per deal: its current stage
    assert any(note.startswith("approximation:") for note in history.notes)
    stages = read_entity(crm_map, "pipeline_stages", source).rows
    # no stages.csv: every stage in the order it first appears (deals by creation)
    assert stages.sort("position")["name"].to_list()[:2] == ["Won", "Proposal"]
    assert read_entity(crm_map, "orders", source).absent == "absent in the csv map"


def test_ids_names_times_and_flags_are_normalised_by_kind() -> None:
    con = scratch()
    row = con.execute(
        "select acrm_key('42'), acrm_key(42), acrm_key('42.0'), acrm_key('0065g00000Op0001AA'),"
        " acrm_key(''), acrm_name_key(' Widget  PRO '), acrm_name_key('widget pro'),"
        " acrm_ts('1736496000'), acrm_ts('2025-01-10T10:00:00+03:00'),"
        " acrm_ts('2025-01-10 10:00:00'), acrm_ts('not a time'), acrm_date('2025-01-10T23:30:00Z'),"
        " acrm_bool('Y'), acrm_bool('N'), acrm_bool('да'), acrm_bool(1)"
    ).fetchall()[0]
    assert row[:3] == (42, 42, 42)
    assert isinstance(row[3], int) and row[3] > 0 and row[4] is None
    assert row[5] == row[6]  # names join whatever their case and spacing
    assert row[7:11] == (  # Unix seconds and offsets to Europe/Moscow; naive kept as written
        "2025-01-10 11:00:00",
        "2025-01-10 10:00:00",
        "2025-01-10 10:00:00",
        "not a time",  # left for the contract to quarantine with its reason
    )
    assert row[11] == "2025-01-11" and row[12:] == (True, False, True, True)


def test_json_records_are_found_where_each_crm_puts_them() -> None:
    where = Path("x.json")
    assert records_of({"_embedded": {"leads": [{"id": 1}]}, "_page": 1}, None, where) == [{"id": 1}]
    assert records_of({"result": [{"ID": "1"}], "total": 1}, None, where) == [{"ID": "1"}]
    assert records_of({"result": {"items": [{"ID": "1"}]}}, None, where) == [{"ID": "1"}]
    assert records_of([{"a": 1}], None, where) == [{"a": 1}]
    account = {"id": 5, "_embedded": {"users_groups": [{"id": 0}]}}
    assert records_of(account, "_embedded.users_groups", where) == [{"id": 0}]


def test_a_windows_1251_semicolon_export_reads_as_text(tmp_path: Path) -> None:
    source = open_source(f"csv://{FIXTURES / 'csv'}")
    con = scratch()
    source.load(con, "managers")
    assert con.execute("select manager, team from managers order by 1").fetchall()[0] == (
        "Анна Иванова",
        "Север",
    )


def test_landing_through_a_map_is_idempotent_and_counts_what_does_not_join(tmp_path: Path) -> None:
    url = f"csv://{FIXTURES / 'csv'}"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_bookkeeping(con)
        for name in ("managers", "products", "customers"):
            extract_table(con, url, TABLES_BY_NAME[name], "b1")
        first = extract_table(con, url, TABLES_BY_NAME["deals"], "b1")
        again = extract_table(con, url, TABLES_BY_NAME["deals"], "b2")
        amount = con.execute("select sum(amount) from raw.crm_deals").fetchall()[0][0]
    assert (first.rows_loaded, again.rows_loaded, again.rows_read) == (12, 0, 12)
    assert "product not in products, kept under the unknown member (1 row)" in first.message
    assert "manager not in managers, kept under the unknown member (1 row)" in first.message
    deals = pl.read_csv(FIXTURES / "csv" / "deals.csv", infer_schema=False)
    total = deals["amount"].str.replace_all(" ", "").str.replace(",", ".").cast(pl.Float64).sum()
    assert amount == pytest.approx(total)


def test_the_cube_measures_a_crm_without_orders_leaves_empty() -> None:
    empty = measures_without({"orders", "order_lines"})
    assert {"revenue", "orders", "avg_check", "clv", "romi"} <= set(empty)
    assert not {"won_deals", "win_rate", "stage_conversion", "calls"} & set(empty)


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("1 200,50", "1200.50"),
        ("1\u00a0200,50 ₽", "1200.50"),
        ("1,200.50", "1200.50"),
        ("$1,200.50", "1200.50"),
        ("1.200,50", "1200.50"),
        ("-5,5", "-5.5"),
        ("1500.0", "1500.0"),
        ("1e+20", "1e+20"),
        ("twelve", "twelve"),  # kept: the contract quarantines it with its reason
    ],
)
def test_money_as_exports_write_it(written: str, number: str) -> None:
    assert scratch().execute("select acrm_money(?)", [written]).fetchall()[0][0] == number


@pytest.mark.parametrize(
    ("written", "local"),
    [
        ("03.02.2025 10:15", "2025-02-03 10:15:00"),
        ("03.02.2025", "2025-02-03 00:00:00"),
        ("2/3/2025 10:15 AM", "2025-02-03 10:15:00"),
        ("2025/02/03 10:15:00", "2025-02-03 10:15:00"),
        ("2025-02-03T07:15:00.000+0000", "2025-02-03 10:15:00"),  # Salesforce, to Moscow
    ],
)
def test_times_as_exports_write_them(written: str, local: str) -> None:
    assert scratch().execute("select acrm_ts(?)", [written]).fetchall()[0][0] == local
