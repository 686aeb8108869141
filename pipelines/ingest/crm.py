"""Incremental extraction from the operational CRM (SQLite file or any connectorx URL).

Each run reads the rows changed since the table's cursor (`updated_at >= cursor`, so a row
written in the cursor's own second is not missed) and appends the versions not yet landed.
A key that has disappeared from the source gets a tombstone row (`_deleted`), so staging,
which keeps each key's latest version, sees updates and deletes alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import connectorx as cx
import duckdb
import polars as pl

from pipelines.ingest.contracts import EXTRA, RAW, REASON, Column, Contract, ContractError, Rule
from pipelines.ingest.files import SourceError
from pipelines.ingest.loader import (
    QUARANTINE,
    RAW_SCHEMA,
    PartitionReport,
    audit,
    fault_point,
    now_utc,
    run_sql,
    write_table,
)

CURSORS = f"{RAW_SCHEMA}._crm_cursors"
TS = "%Y-%m-%d %H:%M:%S"
EPOCH = "1900-01-01 00:00:00"


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(
        name, pl.Datetime("us"), nullable=nullable, timestamp_format=TS, not_in_future=True
    )


@dataclass(frozen=True)
class CrmTable:
    name: str
    key: str
    columns: tuple[str, ...]  # every column the CRM has (anything else is drift)
    checked: tuple[Column, ...] = ()  # typed and validated beyond the key and updated_at
    rules: tuple[Rule, ...] = ()

    def contract(self) -> Contract:
        return Contract(
            f"crm_{self.name}",
            (
                Column(self.key, pl.Int64(), nullable=False),
                _ts("updated_at", nullable=False),
                *self.checked,
            ),
            rules=self.rules,
            unique_key=(self.key,),
        )


def _money(name: str, nullable: bool = True) -> Column:
    return Column(name, pl.Float64(), nullable=nullable, non_negative=True)


CRM_TABLES: tuple[CrmTable, ...] = (
    CrmTable("teams", "team_id", ("team_id", "name", "updated_at")),
    CrmTable(
        "managers",
        "manager_id",
        ("manager_id", "full_name", "email", "extension", "team_id", "updated_at"),
    ),
    CrmTable("pipelines", "pipeline_id", ("pipeline_id", "name", "updated_at")),
    CrmTable(
        "pipeline_stages",
        "stage_id",
        ("stage_id", "pipeline_id", "name", "position", "is_won", "updated_at"),
    ),
    CrmTable("loss_reasons", "loss_reason_id", ("loss_reason_id", "name", "updated_at")),
    CrmTable("product_categories", "category_id", ("category_id", "name", "updated_at")),
    CrmTable(
        "products",
        "product_id",
        ("product_id", "name", "category_id", "list_price", "updated_at"),
        checked=(_money("list_price"),),
    ),
    CrmTable(
        "campaigns",
        "campaign_id",
        (
            "campaign_id",
            "name",
            "channel",
            "platform",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "started_on",
            "ended_on",
            "updated_at",
        ),
    ),
    CrmTable(
        "customers",
        "customer_id",
        (
            "customer_id",
            "first_name",
            "last_name",
            "gender",
            "birth_date",
            "income_band",
            "education",
            "region",
            "city",
            "timezone",
            "segment",
            "email",
            "phone",
            "web_user_id",
            "first_utm_source",
            "first_utm_medium",
            "first_utm_campaign",
            "owner_manager_id",
            "status",
            "created_at",
            "cancelled_at",
            "updated_at",
        ),
        checked=(
            _ts("created_at", nullable=False),
            _ts("cancelled_at"),
            Column("status", pl.String(), allowed=("active", "cancelled")),
        ),
    ),
    CrmTable(
        "contacts",
        "contact_id",
        ("contact_id", "customer_id", "kind", "value", "is_primary", "updated_at"),
        checked=(
            Column("kind", pl.String(), nullable=False, allowed=("phone", "email")),
            Column("value", pl.String(), nullable=False),
        ),
    ),
    CrmTable(
        "deals",
        "deal_id",
        (
            "deal_id",
            "customer_id",
            "manager_id",
            "pipeline_id",
            "stage_id",
            "status",
            "amount",
            "campaign_id",
            "utm_source",
            "utm_medium",
            "lead_source",
            "loss_reason_id",
            "created_at",
            "closed_at",
            "updated_at",
        ),
        checked=(
            _money("amount"),
            _ts("created_at", nullable=False),
            _ts("closed_at"),
            Column("status", pl.String(), nullable=False, allowed=("open", "won", "lost")),
        ),
        rules=(Rule("closed before created", pl.col("closed_at") < pl.col("created_at")),),
    ),
    CrmTable(
        "deal_stage_history",
        "history_id",
        (
            "history_id",
            "deal_id",
            "stage_id",
            "manager_id",
            "entered_at",
            "exited_at",
            "updated_at",
        ),
        checked=(_ts("entered_at", nullable=False), _ts("exited_at")),
        rules=(Rule("exited before entered", pl.col("exited_at") < pl.col("entered_at")),),
    ),
    CrmTable(
        "orders",
        "order_id",
        (
            "order_id",
            "customer_id",
            "deal_id",
            "manager_id",
            "ordered_at",
            "status",
            "sales_channel",
            "campaign_id",
            "utm_source",
            "utm_medium",
            "updated_at",
        ),
        checked=(
            _ts("ordered_at", nullable=False),
            Column(
                "status", pl.String(), nullable=False, allowed=("paid", "cancelled", "refunded")
            ),
        ),
    ),
    CrmTable(
        "order_lines",
        "order_line_id",
        (
            "order_line_id",
            "order_id",
            "product_id",
            "quantity",
            "unit_price",
            "discount",
            "updated_at",
        ),
        checked=(
            Column("quantity", pl.Int64(), nullable=False, non_negative=True),
            _money("unit_price", nullable=False),
            _money("discount"),
        ),
    ),
    CrmTable(
        "tickets",
        "ticket_id",
        (
            "ticket_id",
            "customer_id",
            "manager_id",
            "product_id",
            "status",
            "priority",
            "channel",
            "opened_at",
            "resolved_at",
            "updated_at",
        ),
        checked=(_ts("opened_at", nullable=False), _ts("resolved_at")),
        rules=(Rule("resolved before opened", pl.col("resolved_at") < pl.col("opened_at")),),
    ),
    CrmTable(
        "survey_responses",
        "survey_response_id",
        (
            "survey_response_id",
            "ticket_id",
            "customer_id",
            "manager_id",
            "csat",
            "nps",
            "sent_at",
            "responded_at",
            "updated_at",
        ),
        checked=(Column("csat", pl.Int64()), Column("nps", pl.Int64())),
        rules=(
            Rule("csat outside 1..5", ~pl.col("csat").is_between(1, 5)),
            Rule("nps outside 0..10", ~pl.col("nps").is_between(0, 10)),
        ),
    ),
)
TABLES_BY_NAME = {t.name: t for t in CRM_TABLES}


def _read(url: str, sql: str, what: str) -> pl.DataFrame:
    try:
        return pl.from_arrow(cx.read_sql(url, sql, return_type="arrow"))  # type: ignore[return-value]
    except Exception as exc:  # connectorx raises plain RuntimeErrors: say what failed
        raise SourceError(f"cannot read {what} from {redact(url)}: {exc}") from exc


def redact(url: str) -> str:
    """A URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where "
            "table_schema = ? and table_name = ?",
            [RAW_SCHEMA, name],
        ).fetchall()[0][0]
    )


def extract_table(
    con: duckdb.DuckDBPyConnection, url: str, table: CrmTable, batch_id: str
) -> PartitionReport:
    """Land the changes of one CRM table since its cursor, and tombstones for deletes."""
    started = now_utc()
    target = f"crm_{table.name}"
    run_sql(
        con,
        f"create table if not exists {CURSORS} (table_name varchar primary key, "
        "cursor_value varchar, updated_at timestamp)",
    )
    rows = run_sql(con, f"select cursor_value from {CURSORS} where table_name = ?", [table.name])
    cursor = rows[0][0] if rows else EPOCH
    window = f"updated_at >= {cursor}"
    try:
        changed = _read(
            url,
            f"select * from {table.name} where updated_at >= '{cursor.replace(chr(39), '')}'",
            f"CRM table {table.name!r}",
        )
        keys = _read(url, f"select {table.key} from {table.name}", f"keys of {table.name!r}")
        missing = [c for c in (table.key, "updated_at") if c not in changed.columns]
        if missing:
            raise ContractError(
                f"CRM table {table.name}: required column(s) "
                f"{', '.join(missing)} missing in {redact(url)}"
            )
    except (SourceError, ContractError) as exc:
        transient = isinstance(exc, SourceError)  # unreachable or failing database
        audit(
            con, batch_id, target, window, f"crm:{table.name}", 0, 0, 0, "failed", str(exc), started
        )
        return PartitionReport(target, window, "failed", message=str(exc), transient=transient)

    unexpected = [c for c in changed.columns if c not in table.columns]
    rows = changed.with_columns(
        pl.struct(unexpected).struct.json_encode().alias(EXTRA)
        if unexpected
        else pl.lit(None, pl.String).alias(EXTRA)
    ).drop(unexpected)
    rows = rows.with_columns(pl.struct(pl.all().exclude(EXTRA)).struct.json_encode().alias(RAW))
    valid, rejected = table.contract().split(rows) if rows.height else (rows.drop(RAW), rows)
    new_cursor = changed["updated_at"].cast(pl.String).max() if changed.height else cursor
    lineage = [
        pl.lit(window).alias("_cursor_window"),
        pl.lit(batch_id).alias("_batch_id"),
        pl.lit(started).alias("_loaded_at"),
        pl.lit(False).alias("_deleted"),
    ]
    valid = valid.with_columns(lineage)

    run_sql(con, "begin transaction")
    try:
        exists = _table_exists(con, target)
        if valid.height:
            write_table(con, f"{RAW_SCHEMA}.{target}", valid)
            # versions already landed (same key and updated_at) are not landed twice
            loaded = len(
                con.execute(
                    f"insert into {RAW_SCHEMA}.{target} by name select * from incoming i where not "
                    f"exists (select 1 from {RAW_SCHEMA}.{target} t where t.{table.key} = "
                    f"i.{table.key} and t.updated_at = i.updated_at and not t._deleted) "
                    "returning 1"
                ).fetchall()
            )
            con.unregister("incoming")
        else:
            loaded = 0
        deleted = 0
        if exists or valid.height:
            con.register("source_keys", keys.to_arrow())
            deleted = con.execute(
                f"insert into {RAW_SCHEMA}.{target} ({table.key}, updated_at, _cursor_window, "
                f"_batch_id, _loaded_at, _deleted) "
                f"select {table.key}, ?::timestamp, ?, ?, ?::timestamp, true from ("
                f"  select {table.key}, bool_or(_deleted) filter (where latest) as gone from ("
                f"    select {table.key}, _deleted, row_number() over (partition by {table.key} "
                f"    order by _loaded_at desc, updated_at desc) = 1 as latest "
                f"    from {RAW_SCHEMA}.{target}) group by {table.key}) landed "
                f"where not gone and {table.key} not in (select {table.key} from source_keys) "
                f"returning 1",
                [started, window, batch_id, started],
            ).fetchall()
            deleted = len(deleted)
            con.unregister("source_keys")
        fault_point("before_commit", target)
        run_sql(
            con,
            f"delete from {QUARANTINE} where source = ? and partition_key = ?",
            [target, window],
        )
        if rejected.height:
            con.register(
                "rejected_rows",
                rejected.select(
                    pl.lit(batch_id).alias("batch_id"),
                    pl.lit(target).alias("source"),
                    pl.lit(window).alias("partition_key"),
                    pl.lit(f"crm:{table.name}").alias("file"),
                    pl.lit(None, pl.Int64).alias("line_number"),
                    pl.col(REASON).alias("reason"),
                    pl.col(RAW).alias("raw_content"),
                    pl.lit(started).alias("quarantined_at"),
                ).to_arrow(),
            )
            # a bad version read again (it sits at the cursor) is not quarantined twice
            quarantined = len(
                run_sql(
                    con,
                    f"insert into {QUARANTINE} by name select * from rejected_rows r where not "
                    f"exists (select 1 from {QUARANTINE} q where q.source = r.source and "
                    "q.raw_content = r.raw_content) returning 1",
                )
            )
            con.unregister("rejected_rows")
        else:
            quarantined = 0
        audit(
            con,
            batch_id,
            target,
            window,
            f"crm:{table.name}",
            changed.height,
            loaded,
            quarantined,
            "loaded",
            f"{deleted} deleted" if deleted else "",
            started,
            unchanged=changed.height - loaded - quarantined,
        )
        run_sql(
            con,
            f"insert or replace into {CURSORS} values (?, ?, ?)",
            [table.name, new_cursor, started],
        )
        run_sql(con, "commit")
    except BaseException:
        run_sql(con, "rollback")
        raise
    return PartitionReport(
        target,
        window,
        "loaded",
        rows_read=changed.height,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        drift=unexpected,
        message=f"{deleted} deleted" if deleted else "",
    )
