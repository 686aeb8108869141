"""Each source's columns are declared once, by its contract (and, for the CDR, the formats it
parses): the Great Expectations suites may only name columns the landing writes, and the
CDR contract only fields Asterisk's layouts have. The churn horizon is dbt's var."""

import json
import re

import duckdb
import pytest

from core.formats import CDR_ALL_COLUMNS
from core.rules import churn_horizon_days
from core.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from pipelines.ingest.crm import CRM_TABLES, LINEAGE
from pipelines.ingest.daily import ensure_table
from pipelines.ingest.loader import ensure_bookkeeping, ensure_raw_table
from pipelines.ingest.sources import CDR, FILE_SOURCES, STREAM_SOURCES
from pipelines.ingest.streams import STREAM_COLUMNS

SUITES = sorted(EXPECTATIONS_DIR.glob("*.json"))


def landed_columns(table: str) -> set[str]:
    """The raw table's columns as the landing creates it, before any file came."""
    with duckdb.connect() as con:
        ensure_bookkeeping(con)
        for source in FILE_SOURCES:
            if source.name == table:
                ensure_table(con, source)
        for source in STREAM_SOURCES:
            if source.name == table:
                ensure_raw_table(
                    con, table, source.contract(), after=source.prepare, columns=STREAM_COLUMNS
                )
        for crm in CRM_TABLES:
            if f"crm_{crm.name}" == table:
                ensure_raw_table(con, table, crm.contract(), columns=LINEAGE)
        return {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' "
                "and table_name = ?",
                [table],
            ).fetchall()
        }


def suite_columns(path) -> set[str]:
    document = json.loads(path.read_text())
    return {
        e["kwargs"][key]
        for e in document["expectations"]
        for key in ("column", "column_A", "column_B")
        if key in e["kwargs"]
    }


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.stem)
def test_a_suite_names_only_columns_the_landing_writes(suite) -> None:
    columns = landed_columns(suite.stem)
    assert columns, f"no landed table {suite.stem}"
    assert suite_columns(suite) <= columns


def test_the_cdr_contract_reads_only_fields_asterisk_writes() -> None:
    assert {c.name for c in CDR.contract().columns} <= set(CDR_ALL_COLUMNS)


def test_the_churn_horizon_is_dbt_s_var() -> None:
    text = (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
    declared = int(re.search(r"churn_horizon_days:\s*(\d+)", text).group(1))
    assert churn_horizon_days() == declared


def test_python_date_keys_are_the_dbt_macros() -> None:
    """Mining writes dim_dates keys itself: the same yyyymmdd as the dbt macro, which DuckDB
    evaluates here from the macro's own text."""
    import datetime as dt
    import re

    import duckdb

    from core.rules import date_key
    from core.settings import DBT_PROJECT_DIR

    macro = (DBT_PROJECT_DIR / "macros" / "keys.sql").read_text()
    body = re.search(r"macro date_key\(column\) -%}(.*?){%- endmacro", macro, re.S).group(1)
    day = dt.date(2027, 3, 4)
    sql = "select " + body.replace("{{ column }}", f"date '{day}'")
    assert duckdb.sql(sql).fetchall()[0][0] == date_key(day) == 20270304
