"""Reading a CRM through its map: the source's tables into a scratch DuckDB, out canonical rows.

A CRM URL is a database connectorx reads (sqlite://, postgresql://, mysql://, mssql://,
with `#schema` for the schema Fivetran or Airbyte landed into), a DuckDB file
(duckdb:///path), or a folder of exports (csv:///path, file:///path or a plain path): one
table per file, `<table>.csv`, `.csv.gz`, `.tsv`, `.json`, `.jsonl`, `.ndjson` or
`.parquet`, or pages of it (`<table>.1.json`, `<table>-0050.json`, or `<table>/*.json`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import connectorx as cx
import duckdb
import polars as pl

from core.crm_map import CrmMap, EntityMap, MapError, canonical_select, check_columns, quote
from core.crm_schema import UPDATED_AT
from core.settings import business_timezone
from pipelines.ingest.files import SourceError

# Local date formats CRM exports write, after ISO 8601: day first with dots (Russian,
# German), month first with slashes (US exports of HubSpot or Salesforce reports).
LOCAL_FORMATS = (
    "['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y', '%m/%d/%Y %H:%M:%S', "
    "'%m/%d/%Y %I:%M %p', '%m/%d/%Y %H:%M', '%m/%d/%Y', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d']"
)
FILE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet")
PAGE = re.compile(r"^(?P<table>.+?)(?:[._-]\d+)?(?P<suffix>\.csv\.gz|\.[a-z]+)$")


def redact(url: str) -> str:
    """A URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _macros(con: duckdb.DuckDBPyConnection) -> None:
    """The kind normalisers canonical_select uses (core.crm_schema explains each kind)."""
    tz = business_timezone().replace("'", "")
    text = "trim(cast(x as varchar))"
    con.execute(
        f"""create or replace macro acrm_key(x) as case
            when x is null or {text} = '' then null
            when regexp_full_match({text}, '-?[0-9]{{1,18}}(\\.0+)?')
                then cast(split_part({text}, '.', 1) as bigint)
            else cast('0x' || left(md5({text}), 15) as bigint) end"""
    )
    con.execute(
        "create or replace macro acrm_name_key(x) as "
        "acrm_key(lower(regexp_replace(trim(cast(x as varchar)), '\\s+', ' ', 'g')))"
    )
    con.execute(
        f"""create or replace macro acrm_ts(x) as case
            when x is null or {text} = '' then null
            when regexp_full_match({text}, '[0-9]{{9,10}}')
                then strftime(timezone('{tz}', to_timestamp(cast({text} as bigint))),
                    '%Y-%m-%d %H:%M:%S')
            when regexp_full_match({text}, '[0-9]{{12,13}}')
                then strftime(timezone('{tz}', to_timestamp(cast({text} as bigint) / 1000)),
                    '%Y-%m-%d %H:%M:%S')
            when regexp_matches({text}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$')
                    and try_cast({text} as timestamptz) is not null
                then strftime(timezone('{tz}', cast({text} as timestamptz)), '%Y-%m-%d %H:%M:%S')
            when try_cast({text} as timestamp) is not null
                then strftime(cast({text} as timestamp), '%Y-%m-%d %H:%M:%S')
            when try_strptime({text}, {LOCAL_FORMATS}) is not null
                then strftime(try_strptime({text}, {LOCAL_FORMATS}), '%Y-%m-%d %H:%M:%S')
            else {text} end"""
    )
    # money as exports write it: '1 200,50', '1,200.50', '$1,200.50', '1200.50 ₽'; text that
    # is no number is kept, for the contract to quarantine with its reason
    digits = f"regexp_replace({text}, '[^0-9,.-]', '', 'g')"
    con.execute(
        f"""create or replace macro acrm_money(x) as case
            when x is null or {text} = '' then null
            when try_cast({text} as double) is not null then {text}
            when regexp_full_match({digits}, '-?[0-9]*[.][0-9]+,[0-9]+')
                then replace(replace({digits}, '.', ''), ',', '.')
            when regexp_full_match({digits}, '-?[0-9]*(,[0-9]{{3}})+([.][0-9]+)?')
                then replace({digits}, ',', '')
            when regexp_full_match({digits}, '-?[0-9]*,[0-9]+')
                then replace({digits}, ',', '.')
            when regexp_full_match({digits}, '-?[0-9]*([.][0-9]+)?') and {digits} <> ''
                then {digits}
            else {text} end"""
    )
    con.execute(
        "create or replace macro acrm_date(x) as coalesce("
        "cast(cast(try_cast(acrm_ts(x) as timestamp) as date) as varchar), acrm_ts(x))"
    )
    con.execute(
        f"""create or replace macro acrm_bool(x) as case
            when lower({text}) in ('true', 't', 'y', 'yes', '1', 'да') then true
            when lower({text}) in ('false', 'f', 'n', 'no', '0', '', 'нет') then false
            end"""
    )


def scratch() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _macros(con)
    return con


def store(con: duckdb.DuckDBPyConnection, table: str, data) -> None:
    """An Arrow table read from the source, as table `table` of the scratch connection."""
    con.register("_loaded", data)
    con.execute(f"create or replace table {quote(table)} as select * from _loaded")
    con.unregister("_loaded")


class CrmSource:
    """Where a CRM's tables are. `load` puts one into the scratch connection as a table."""

    def __init__(self, url: str) -> None:
        self.url = url

    def tables(self) -> list[str]:
        raise NotImplementedError

    def load(self, con: duckdb.DuckDBPyConnection, table: str, where: str | None = None) -> None:
        raise NotImplementedError

    def pushes_down(self) -> bool:
        """True when `where` is evaluated by the source (a database), not after reading."""
        return False


class DatabaseSource(CrmSource):
    """A database connectorx reads; `#schema` after the URL names the schema."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.dsn, _, self.schema = url.partition("#")

    def _read(self, sql: str, what: str) -> pl.DataFrame:
        try:
            return pl.from_arrow(cx.read_sql(self.dsn, sql, return_type="arrow"))  # type: ignore[return-value]
        except Exception as exc:  # connectorx raises plain RuntimeErrors: say what failed
            raise SourceError(f"cannot read {what} from {redact(self.url)}: {exc}") from exc

    def tables(self) -> list[str]:
        if self.dsn.startswith("sqlite"):
            sql = "select name from sqlite_master where type in ('table', 'view')"
        else:
            schema = f"'{self.schema}'" if self.schema else "current_schema()"
            sql = f"select table_name from information_schema.tables where table_schema = {schema}"
        return [str(v) for v in self._read(sql, "the list of tables").to_series()]

    def load(self, con, table, where=None):
        name = f"{quote(self.schema)}.{quote(table)}" if self.schema else quote(table)
        sql = f"select * from {name}" + (f" where {where}" if where else "")
        store(con, table, self._read(sql, f"CRM table {table!r}").to_arrow())

    def pushes_down(self) -> bool:
        return True


class DuckDBSource(CrmSource):
    """A DuckDB file (a Fivetran or Airbyte DuckDB destination), read only."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        path, _, self.schema = url.removeprefix("duckdb://").partition("#")
        self.path = Path(path)

    def _con(self) -> duckdb.DuckDBPyConnection:
        if not self.path.exists():
            raise SourceError(f"no DuckDB file at {self.path} (ACRM_CRM_URL)")
        return duckdb.connect(str(self.path), read_only=True)

    def tables(self) -> list[str]:
        with self._con() as con:
            schema = self.schema or "main"
            rows = con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema],
            ).fetchall()
        return [r[0] for r in rows]

    def load(self, con, table, where=None):
        name = f"{quote(self.schema or 'main')}.{quote(table)}"
        with self._con() as source:
            data = source.sql(
                f"select * from {name}" + (f" where {where}" if where else "")
            ).to_arrow_table()
        store(con, table, data)

    def pushes_down(self) -> bool:
        return True


class FolderSource(CrmSource):
    """A folder of exports: one table per file name, pages of a table read together."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.folder = Path(re.sub(r"^(csv|file|json)://", "", url)).expanduser()

    def files(self) -> dict[str, list[Path]]:
        if not self.folder.is_dir():
            raise SourceError(f"the CRM export folder {self.folder} does not exist (ACRM_CRM_URL)")
        found: dict[str, list[Path]] = {}
        for path in sorted(self.folder.rglob("*")):
            match = PAGE.match(path.name)
            if not path.is_file() or not match or match["suffix"] not in FILE_SUFFIXES:
                continue
            relative = path.relative_to(self.folder)
            table = relative.parts[0] if len(relative.parts) > 1 else match["table"]
            found.setdefault(table, []).append(path)
        return found

    def tables(self) -> list[str]:
        return list(self.files())

    def load(self, con, table, where=None, records: str | None = None):
        paths = self.files()[table]
        suffixes = {PAGE.match(p.name)["suffix"] for p in paths}  # type: ignore[index]
        if suffixes <= {".json", ".jsonl", ".ndjson"}:
            _load_json(con, table, paths, records)
        elif suffixes == {".parquet"}:
            files = ", ".join(f"'{p}'" for p in paths)
            con.execute(
                f"create or replace table {quote(table)} as "
                f"select * from read_parquet([{files}], union_by_name = true)"
            )
        else:
            frames = [_read_csv(p) for p in paths]
            store(con, table, pl.concat(frames, how="diagonal").to_arrow())


def _read_csv(path: Path) -> pl.DataFrame:
    """A CSV export as text columns: UTF-8 (with or without BOM) or Windows-1251, the
    delimiter sniffed (`,`, `;`, tab)."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text"
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1251")
    try:
        delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = "\t" if path.name.endswith(".tsv") else ","
    try:
        frame = pl.read_csv(io.StringIO(text), separator=delimiter, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{path}: not a readable CSV file: {exc}") from exc
    return frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})


def records_of(document: object, path: str | None, where: Path) -> list:
    """The records of one JSON export page: at `path` (dotted), or found where the CRMs put
    them (a list; Bitrix24's `result` or `result.items`; amoCRM's `_embedded.<entity>`)."""
    if path:
        for part in path.split("."):
            if not isinstance(document, dict) or part not in document:
                raise SourceError(f"{where}: no `{path}` in this JSON export (records:)")
            document = document[part]
        return document if isinstance(document, list) else [document]
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for candidate in ("result", "data", "items", "_embedded"):
            inner = document.get(candidate)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                lists = [v for v in inner.values() if isinstance(v, list)]
                if len(lists) == 1:
                    return lists[0]
        return [document]
    raise SourceError(f"{where}: a JSON export holds records (a list or an object)")


def _load_json(con, table: str, paths: list[Path], records: str | None) -> None:
    rows: list = []
    for path in paths:
        text = path.read_text(encoding="utf-8-sig")
        try:
            if path.suffix in (".jsonl", ".ndjson"):
                rows += [json.loads(line) for line in text.splitlines() if line.strip()]
            else:
                rows += records_of(json.loads(text), records, path)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}: not valid JSON: {exc}") from exc
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    try:
        if rows:
            con.execute(
                f"create or replace table {quote(table)} as select * from read_json("
                f"'{out.name}', format = 'newline_delimited', sample_size = -1, "
                "maximum_object_size = 134217728)"
            )
        else:  # no records, no columns: the entity is empty
            con.execute(f"create or replace table {quote(table)} (_no_records boolean)")
    finally:
        Path(out.name).unlink(missing_ok=True)


def open_source(url: str) -> CrmSource:
    if url.startswith("duckdb://"):
        return DuckDBSource(url)
    if "://" not in url or url.startswith(("csv://", "file://", "json://")):
        return FolderSource(url)
    return DatabaseSource(url)


@dataclass
class EntityRows:
    """An entity's canonical rows as read now, and what the reading found."""

    rows: pl.DataFrame
    keys: pl.DataFrame | None  # every key in the source, for `deletes: absent`
    cursor: str | None  # the highest cursor value read, as the source wrote it
    notes: dict[str, int] = field(default_factory=dict)
    absent: str = ""  # why the entity is absent (empty when it is mapped and found)


def _literal(value: str) -> str:
    return value if re.fullmatch(r"-?\d+(\.\d+)?", value) else "'" + value.replace("'", "") + "'"


def _choose(crm_map: CrmMap, mapped: EntityMap, tables: list[str], url: str) -> EntityMap | str:
    """The definition to use, or why the entity is absent, by which tables exist."""
    # a table the map declares optional stands in empty for a `from` that reads it
    stand_in = (
        {t for t, d in crm_map.tables.items() if d.optional}
        if mapped.from_sql and not mapped.fallback
        else set()
    )
    missing = [t for t in mapped.tables() if t not in tables and t not in stand_in]
    if not missing:
        return mapped
    if mapped.fallback:
        return _choose(crm_map, mapped.fallback, tables, url)
    if mapped.optional:
        return f"{', '.join(missing)} not in the source"
    raise MapError(
        crm_map.path,
        f"{mapped.key_path}.{'table' if mapped.table else 'from'}",
        f"table '{missing[0]}' is not in {redact(url)}",
        tables,
    )


def read_entity(
    crm_map: CrmMap, name: str, source: CrmSource, cursor: str | None = None
) -> EntityRows:
    """Read one canonical entity through the map. `cursor`: the last cursor value landed."""
    mapped = crm_map.entity(name)
    empty = pl.DataFrame()
    if mapped is None:
        return EntityRows(empty, None, None, absent=f"absent in the {crm_map.name} map")
    chosen = _choose(crm_map, mapped, source.tables(), source.url)
    if isinstance(chosen, str):
        return EntityRows(empty, None, None, absent=chosen)
    con = scratch()
    try:
        return _evaluate(crm_map, chosen, source, con, cursor)
    finally:
        con.close()


def _evaluate(crm_map, mapped: EntityMap, source: CrmSource, con, cursor) -> EntityRows:
    key_spec = mapped.columns.get(mapped.entity.key)
    key_column = (
        (key_spec.column if key_spec else mapped.entity.key)
        if not (key_spec and (key_spec.expr or key_spec.values))
        else None
    )
    push = bool(source.pushes_down() and mapped.table and mapped.cursor and cursor and key_column)
    _load_tables(crm_map, mapped, source, con, cursor if push else None)
    if any(
        con.execute(f"select count(*) = 0 from {quote(t)}").fetchall()[0][0]
        and "_no_records" in _columns(con, quote(t))
        for t in mapped.tables()
    ):
        # an export page with no records: the CRM has none of this entity now
        keys = pl.DataFrame(schema={mapped.entity.key: pl.Int64})
        return EntityRows(pl.DataFrame(), keys if mapped.deletes == "absent" else None, cursor)
    rows = _canonical_rows(crm_map, mapped, con)
    keys = None
    if mapped.deletes == "absent":
        keys = _all_keys(source, mapped, key_column) if push else rows.select(mapped.entity.key)
    notes = rows.filter(pl.col("_note").is_not_null()).group_by("_note").len()
    highest = rows["_cursor_raw"].drop_nulls().max() if rows.height else None
    return EntityRows(
        rows.drop("_note", "_cursor_raw"),
        keys,
        str(highest) if highest is not None else cursor,
        notes=dict(notes.iter_rows()),
    )


def _load_tables(crm_map, mapped: EntityMap, source: CrmSource, con, cursor) -> None:
    """The entity's source tables into the scratch DuckDB (from `cursor` on, when given); a
    declared table the CRM lacks is empty, with its columns."""
    present = source.tables()
    for table in mapped.tables():
        where = f"{quote(mapped.cursor)} >= {_literal(cursor)}" if cursor else None
        declared = crm_map.tables.get(table)
        if table not in present and declared:  # optional: empty, with its columns
            columns = ", ".join(f"{quote(c)} varchar" for c in declared.columns or ("_none",))
            con.execute(f"create or replace table {quote(table)} ({columns})")
        elif isinstance(source, FolderSource):
            source.load(con, table, records=mapped.records)
        else:
            source.load(con, table, where)
        for column in declared.optional_columns if declared else ():
            con.execute(
                f"alter table {quote(table)} add column if not exists {quote(column)} varchar"
            )


def _canonical_rows(crm_map, mapped: EntityMap, con) -> pl.DataFrame:
    """The entity's rows in canonical columns, each with the hash of its content."""
    condition = f" where {mapped.filter}" if mapped.filter else ""
    _sql(
        con,
        crm_map,
        mapped,
        f"create or replace view src as select * from {mapped.relation}{condition}",
    )
    available = _columns(con, "src")
    check_columns(crm_map, mapped, available)
    _check_value_maps(con, crm_map, mapped)
    # a version is its content; with a cursor, its stamp too (a touched row is a version)
    stamped = bool(mapped.cursor or UPDATED_AT in mapped.columns)
    content = ", ".join(quote(c) for c in (*mapped.entity.columns, *[UPDATED_AT] * stamped))
    select = (
        f"select *, md5(cast(to_json(struct_pack({content})) as varchar)) as _row_hash "
        f"from ({canonical_select(mapped, available)})"
    )
    rows = pl.from_arrow(_sql(con, crm_map, mapped, select).to_arrow_table())
    assert isinstance(rows, pl.DataFrame)
    return rows


def _all_keys(source: CrmSource, mapped: EntityMap, key_column: str) -> pl.DataFrame:
    """Every key in the source table; from a database only the key column is read."""
    table, key = quote(str(mapped.table)), quote(key_column)
    con = scratch()
    try:
        if isinstance(source, DatabaseSource):
            name = f"{quote(source.schema)}.{table}" if source.schema else table
            con.register("_keys", source._read(f"select {key} from {name}", "keys").to_arrow())
        else:
            source.load(con, str(mapped.table))
            con.execute(f"create view _keys as select {key} from {table}")
        result = con.sql(f"select acrm_key({key}) as {quote(mapped.entity.key)} from _keys")
        return pl.from_arrow(result.to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()


def _columns(con, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]


def _sql(con, crm_map: CrmMap, mapped: EntityMap, sql: str):
    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise MapError(
            crm_map.path, mapped.key_path, f"the source rejects the map's SQL: {first}"
        ) from exc


def _check_value_maps(con, crm_map: CrmMap, mapped: EntityMap) -> None:
    """A value the map does not list, with no default, stops the entity: a stage or status
    the map misses would otherwise land as null."""
    for target, spec in mapped.columns.items():
        if spec.values is None or spec.has_default:
            continue
        listed = ", ".join("'" + k.replace("'", "''") + "'" for k in spec.values)
        column = f"cast({quote(spec.column)} as varchar)"
        missing = [
            r[0]
            for r in con.execute(
                f"select distinct {column} from src where {column} is not null "
                f"and {column} not in ({listed}) order by 1 limit 5"
            ).fetchall()
        ]
        if missing:
            raise MapError(
                crm_map.path,
                f"{mapped.key_path}.columns.{target}.values",
                f"'{missing[0]}' of {spec.column} is not in the value map"
                + (f" (nor {', '.join(missing[1:])})" if missing[1:] else "")
                + ": add it, or a `default`",
                list(spec.values),
            )
