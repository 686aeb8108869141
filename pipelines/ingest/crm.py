"""Incremental extraction from the operational CRM, through its CRM map (core.crm_map).

Each run reads every entity through the map (`updated_at >= cursor` pushed down to a
database when the map names a cursor) and appends the versions not yet landed: a row whose
content equals its key's latest landed version is not landed again. A key that disappears
from the source, or that the map's `deletes` condition marks, gets a tombstone row
(`_deleted`), so staging, which keeps each key's latest version, sees updates and deletes
alike. An entity the map declares absent lands an empty table and says so in the audit.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from core import crm_map as maps
from core.contracts import EXTRA, RAW, REASON, Column, Contract, ContractError, Rule
from core.crm_schema import ENTITIES, NEEDED_BY, UPDATED_AT, Entity
from pipelines.ingest.crm_source import EntityRows, open_source, read_entity
from pipelines.ingest.files import SourceError
from pipelines.ingest.loader import (
    QUARANTINE,
    RAW_SCHEMA,
    PartitionReport,
    audit,
    ensure_raw_table,
    fault_point,
    now_utc,
    run_sql,
    write_table,
)

CURSORS = f"{RAW_SCHEMA}._crm_cursors"
TS = "%Y-%m-%d %H:%M:%S"
EPOCH = "1900-01-01 00:00:00"
ROW_HASH = "_row_hash"
KIND_TYPES = {
    "id": pl.Int64(),
    "int": pl.Int64(),
    "money": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "text": pl.String(),
}


def _column(entity: Entity, name: str, kind: str) -> Column:
    nullable = name != entity.key
    if kind == "ts":
        return Column(
            name, pl.Datetime("us"), nullable=nullable, timestamp_format=TS, not_in_future=True
        )
    return Column(name, KIND_TYPES[kind], nullable=nullable, non_negative=kind == "money")


@dataclass(frozen=True)
class CrmTable:
    """A canonical entity's landing contract: every column typed by its kind
    (core.crm_schema), with the entity's own stricter columns and row rules."""

    name: str
    stricter: tuple[Column, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def entity(self) -> Entity:
        return ENTITIES[self.name]

    @property
    def key(self) -> str:
        return self.entity.key

    def contract(self) -> Contract:
        strict = {c.name: c for c in self.stricter}
        columns = [
            strict.get(name) or _column(self.entity, name, kind)
            for name, kind in self.entity.columns.items()
        ]
        updated = Column(
            UPDATED_AT, pl.Datetime("us"), nullable=False, timestamp_format=TS, not_in_future=True
        )
        return Contract(
            f"crm_{self.name}", (*columns, updated), rules=self.rules, unique_key=(self.key,)
        )


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(
        name, pl.Datetime("us"), nullable=nullable, timestamp_format=TS, not_in_future=True
    )


def _money(name: str, nullable: bool = True) -> Column:
    return Column(name, pl.Float64(), nullable=nullable, non_negative=True)


CRM_TABLES: tuple[CrmTable, ...] = (
    CrmTable("teams"),
    CrmTable("managers"),
    CrmTable("pipelines"),
    CrmTable("pipeline_stages"),
    CrmTable("loss_reasons"),
    CrmTable("product_categories"),
    CrmTable("products"),
    CrmTable("campaigns"),
    CrmTable(
        "customers",
        (
            _ts("created_at", nullable=False),
            Column("status", pl.String(), allowed=("active", "cancelled")),
        ),
    ),
    CrmTable(
        "contacts",
        (
            Column("kind", pl.String(), nullable=False, allowed=("phone", "email")),
            Column("value", pl.String(), nullable=False),
        ),
    ),
    CrmTable(
        "deals",
        (
            _ts("created_at", nullable=False),
            Column("status", pl.String(), nullable=False, allowed=("open", "won", "lost")),
        ),
        rules=(Rule("closed before created", pl.col("closed_at") < pl.col("created_at")),),
    ),
    CrmTable(
        "deal_stage_history",
        (_ts("entered_at", nullable=False),),
        rules=(Rule("exited before entered", pl.col("exited_at") < pl.col("entered_at")),),
    ),
    CrmTable(
        "orders",
        (
            _ts("ordered_at", nullable=False),
            Column(
                "status", pl.String(), nullable=False, allowed=("paid", "cancelled", "refunded")
            ),
        ),
    ),
    CrmTable(
        "order_lines",
        (
            Column("quantity", pl.Int64(), nullable=False, non_negative=True),
            _money("unit_price", nullable=False),
        ),
    ),
    CrmTable(
        "tickets",
        (_ts("opened_at", nullable=False),),
        rules=(Rule("resolved before opened", pl.col("resolved_at") < pl.col("opened_at")),),
    ),
    CrmTable(
        "campaign_members",
        (
            _ts("sent_at", nullable=False),
            Column("member_group", pl.String(), nullable=False, allowed=("treatment", "holdout")),
        ),
    ),
    CrmTable(
        "survey_responses",
        rules=(
            Rule("csat outside 1..5", ~pl.col("csat").is_between(1, 5)),
            Rule("nps outside 0..10", ~pl.col("nps").is_between(0, 10)),
        ),
    ),
)
TABLES_BY_NAME = {t.name: t for t in CRM_TABLES}
LINEAGE = {
    "_cursor_window": pl.String,
    "_batch_id": pl.String,
    "_loaded_at": pl.Datetime("us"),
    "_deleted": pl.Boolean,
    EXTRA: pl.String,
    ROW_HASH: pl.String,
}


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where "
            "table_schema = ? and table_name = ?",
            [RAW_SCHEMA, name],
        ).fetchall()[0][0]
    )


def _stored_cursor(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    run_sql(
        con,
        f"create table if not exists {CURSORS} (table_name varchar primary key, "
        "cursor_value varchar, updated_at timestamp)",
    )
    rows = run_sql(con, f"select cursor_value from {CURSORS} where table_name = ?", [name])
    return rows[0][0] if rows else None


def extract_table(
    con: duckdb.DuckDBPyConnection,
    url: str,
    table: CrmTable,
    batch_id: str,
    crm_map: maps.CrmMap | None = None,
) -> PartitionReport:
    """Land one canonical entity's changes since its cursor, and tombstones for deletes.
    `crm_map`: the map to read through (default: ACRM_CRM_MAP, or the URL's default)."""
    started = now_utc()
    target = f"crm_{table.name}"
    cursor = _stored_cursor(con, table.name)
    window = f"updated_at >= {cursor or EPOCH}"
    try:
        crm_map = crm_map or maps.load(maps.map_reference(url))
        read = read_entity(crm_map, table.name, open_source(url), cursor)
    except (SourceError, ContractError, maps.MapError) as exc:
        transient = isinstance(exc, SourceError) and "://" in url  # a database that failed
        audit(
            con, batch_id, target, window, f"crm:{table.name}", 0, 0, 0, "failed", str(exc), started
        )
        return PartitionReport(target, window, "failed", message=str(exc), transient=transient)
    ensure_raw_table(con, target, table.contract(), columns=LINEAGE)
    if read.absent:
        message = f"absent: {read.absent}; empty: {', '.join(NEEDED_BY.get(table.name, ()))}"
        audit(
            con, batch_id, target, window, f"crm:{table.name}", 0, 0, 0, "loaded", message, started
        )
        return PartitionReport(target, window, "loaded", message=message)
    return _land(con, table, read, batch_id, window, started)


def _prepare(table: CrmTable, read: EntityRows, started) -> pl.DataFrame:
    """Rows as the contract takes them: updated_at filled with the landing time where the
    map has no cursor, the row as JSON for quarantine."""
    rows = read.rows
    if not rows.height:
        rows = pl.DataFrame(schema={n: pl.String for n in table.entity.names})
        rows = rows.with_columns(
            pl.lit(False).alias("_gone"), pl.lit(None, pl.String).alias(ROW_HASH)
        )
    rows = rows.with_columns(
        pl.col(UPDATED_AT).fill_null(pl.lit(started.strftime(TS))),
        pl.lit(None, pl.String).alias(EXTRA),
    )
    names = list(table.entity.names)
    return rows.with_columns(pl.struct(names).struct.json_encode().alias(RAW))


def _land(con, table: CrmTable, read: EntityRows, batch_id, window, started) -> PartitionReport:
    target = f"crm_{table.name}"
    rows = _prepare(table, read, started)
    live, gone = rows.filter(~pl.col("_gone")), rows.filter(pl.col("_gone"))
    valid, rejected = (
        table.contract().split(live.drop("_gone"))
        if live.height
        else (live.drop("_gone", RAW), live.drop("_gone"))
    )
    valid = valid.with_columns(
        pl.lit(window).alias("_cursor_window"),
        pl.lit(batch_id).alias("_batch_id"),
        pl.lit(started).alias("_loaded_at"),
        pl.lit(False).alias("_deleted"),
    )
    run_sql(con, "begin transaction")
    try:
        loaded = _insert_versions(con, table, valid)
        deleted = _tombstones(
            con, table, read.keys, gone.select(table.key), window, batch_id, started
        )
        fault_point("before_commit", target)
        quarantined = _quarantine(con, target, window, rejected, batch_id, started)
        message = _notes(con, table, read, deleted)
        counts = (live.height, loaded, quarantined)
        _audit_and_cursor(con, table, read, batch_id, window, started, counts, message)
        run_sql(con, "commit")
    except BaseException:
        run_sql(con, "rollback")
        raise
    return PartitionReport(
        target,
        window,
        "loaded",
        rows_read=live.height,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        message=message,
    )


def _notes(con, table: CrmTable, read: EntityRows, deleted: int) -> str:
    """The audit's note: what the map noted, deletions, references to missing rows."""
    notes = [f"{note} ({_rows(count)})" for note, count in sorted(read.notes.items())]
    notes += [f"{deleted} deleted"] if deleted else []
    notes += _reference_gaps(con, table)
    return "; ".join(notes)


def _audit_and_cursor(con, table, read, batch_id, window, started, counts, message) -> None:
    """The window's audit row (read, loaded, quarantined) and the table's new cursor."""
    read_rows, loaded, quarantined = counts
    audit(
        con,
        batch_id,
        f"crm_{table.name}",
        window,
        f"crm:{table.name}",
        read_rows,
        loaded,
        quarantined,
        "loaded",
        message,
        started,
        unchanged=read_rows - loaded - quarantined,
    )
    run_sql(
        con,
        f"insert or replace into {CURSORS} values (?, ?, ?)",
        [table.name, read.cursor, started],
    )


def _latest(table: str, key: str) -> str:
    """Each key's latest landed version (the same order staging's latest_version uses)."""
    return (
        f"(select * from (select {key}, {ROW_HASH}, _deleted, row_number() over (partition by "
        f"{key} order by _loaded_at desc, updated_at desc) as _rank from {table}) "
        "where _rank = 1)"
    )


def _insert_versions(con, table: CrmTable, valid: pl.DataFrame) -> int:
    """Append the versions not landed yet: not the key's latest content again, and not a
    version stamp (key and updated_at) landed before."""
    if not valid.height:
        return 0
    raw, key = f"{RAW_SCHEMA}.crm_{table.name}", table.key
    write_table(con, raw, valid)
    inserted = con.execute(
        f"insert into {raw} by name select i.* from incoming i "
        f"left join {_latest(raw, key)} latest on latest.{key} = i.{key} "
        f"where not coalesce(latest.{ROW_HASH} = i.{ROW_HASH} and not latest._deleted, false) "
        f"and not exists (select 1 from {raw} t where t.{key} = i.{key} "
        "and t.updated_at = i.updated_at and not t._deleted) returning 1"
    ).fetchall()
    con.unregister("incoming")
    return len(inserted)


def _tombstones(con, table, source_keys, gone_keys, window, batch_id, started) -> int:
    """A tombstone for each live landed key the source no longer has (`deletes: absent`)
    or marks deleted (a `deletes` condition)."""
    raw, key = f"{RAW_SCHEMA}.crm_{table.name}", table.key
    if source_keys is not None:
        con.register("source_keys", source_keys.select(key).to_arrow())
        gone = f"not in (select {key} from source_keys where {key} is not null)"
    else:
        con.register("source_keys", gone_keys.to_arrow())
        gone = f"in (select {key} from source_keys)"
    rows = con.execute(
        f"insert into {raw} ({key}, updated_at, _cursor_window, _batch_id, _loaded_at, _deleted) "
        f"select {key}, ?::timestamp, ?, ?, ?::timestamp, true from {_latest(raw, key)} "
        f"where not _deleted and {key} {gone} returning 1",
        [started, window, batch_id, started],
    ).fetchall()
    con.unregister("source_keys")
    return len(rows)


def _quarantine(con, target, window, rejected: pl.DataFrame, batch_id, started) -> int:
    run_sql(
        con, f"delete from {QUARANTINE} where source = ? and partition_key = ?", [target, window]
    )
    if not rejected.height:
        return 0
    con.register(
        "rejected_rows",
        rejected.select(
            pl.lit(batch_id).alias("batch_id"),
            pl.lit(target).alias("source"),
            pl.lit(window).alias("partition_key"),
            pl.lit(f"crm:{target.removeprefix('crm_')}").alias("file"),
            pl.lit(None, pl.Int64).alias("line_number"),
            pl.col(REASON).alias("reason"),
            pl.col(RAW).alias("raw_content"),
            pl.lit(started).alias("quarantined_at"),
        ).to_arrow(),
    )
    # a bad version read again (it sits at the cursor) is not quarantined twice
    count = len(
        run_sql(
            con,
            f"insert into {QUARANTINE} by name select * from rejected_rows r where not "
            f"exists (select 1 from {QUARANTINE} q where q.source = r.source and "
            "q.raw_content = r.raw_content) returning 1",
        )
    )
    con.unregister("rejected_rows")
    return count


def _reference_gaps(con, table: CrmTable) -> list[str]:
    """Rows whose customer, manager or product is not in its reference entity: they keep
    their amounts in every total, under the unknown member. Counted for the audit."""
    gaps = []
    raw = f"{RAW_SCHEMA}.crm_{table.name}"
    for column, entity in (table.entity.references or {}).items():
        ref_key = ENTITIES[entity].key
        ref = f"{RAW_SCHEMA}.crm_{entity}"
        if not _table_exists(con, f"crm_{entity}"):
            continue
        count = con.execute(
            f"select count(*) from {_latest_rows(raw, table.key)} r where r.{column} is not null "
            f"and r.{column} not in (select {ref_key} from {_latest(ref, ref_key)} "
            "where not _deleted)"
        ).fetchall()[0][0]
        if count:
            gaps.append(
                f"{column.removesuffix('_id')} not in {entity}, kept under the unknown member "
                f"({_rows(count)})"
            )
    return gaps


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _latest_rows(table: str, key: str) -> str:
    return (
        f"(select * from (select *, row_number() over (partition by {key} order by "
        f"_loaded_at desc, updated_at desc) as _rank from {table}) "
        "where _rank = 1 and not _deleted)"
    )
