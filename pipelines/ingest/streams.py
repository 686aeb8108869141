"""File sources whose files are not one day each: land each file's new lines, once.

A PBX appends to one `Master.csv` for months, logrotate renames it (`Master.csv.1`,
`Master.csv-20250101`, gzipped or not), and an ad platform's report covers many days. So a
file is a *stream*: known by its first record (its first line with a digit, so not a
header every export shares), landed up to a byte offset. Each run lands
only what a stream gained since the last run (a renamed or gzipped copy of a landed stream
adds nothing); a stream whose landed part changed is landed again, replacing its rows. A
row's day (`_partition`) is the day it happened, whatever the file is called.

Every line is loaded or quarantined: an exact repeat of a line already landed (another
file holding the same record) is a duplicate; nothing else is. One transaction per group
of files (GROUP_BYTES on disk): their rows, quarantine, audit and offsets commit together,
or not at all, and memory stays bounded.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from core.contracts import LINE, RAW, REASON, Contract, ContractError
from pipelines.ingest.files import NewText, RawBatch, SourceError, decode, read_bytes
from pipelines.ingest.loader import (
    AUDIT,
    QUARANTINE,
    RAW_SCHEMA,
    PartitionReport,
    fault_point,
    fold_extras,
    insert_audit,
    insert_frame,
    now_utc,
    registered,
    run_sql,
    transaction,
    write_table,
)

STREAMS = f"{RAW_SCHEMA}._file_streams"
STREAMS_DDL = f"""
create table if not exists {STREAMS} (
    source varchar, stream_id varchar, file varchar, bytes_landed bigint,
    lines_landed bigint, prefix_sha256 varchar, updated_at timestamp
);
"""
STREAM_COLUMNS = {"_stream": pl.String, "_line_md5": pl.String}  # lineage of a stream row
LIVE_NAMES = ("Master.csv", "queue_log")  # files Asterisk appends to: a partial last line waits
REPEAT_REASON = "exact repeat of a line already landed from {}"
VALID = "__valid_rows"  # a group's valid rows, staged in DuckDB until they are inserted
GROUP_BYTES = 48 * 2**20  # files on disk per transaction: memory stays bounded at any scale


@dataclass(frozen=True)
class StreamSource:
    name: str  # the raw table
    folder: str
    patterns: tuple[str, ...]
    # (what each file of a group added, the source folder) -> each parsed, or its error:
    # the files of one layout are parsed together, in one native read
    parse: Callable[[list[NewText], Path], list[RawBatch | str]]
    contract: Callable[[], Contract]
    day: Callable[[], pl.Expr]  # the day a valid, typed row belongs to
    prepare: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame  # after typing
    known_columns: frozenset[str] = frozenset()
    description: str = ""
    # every parsed file of a run at once -> each shaped, or its error (ads: one pass per
    # layout and one currency conversion for all reports)
    shape: Callable[[list[RawBatch], Path], list[RawBatch | str]] = lambda batches, folder: batches

    def files(self, sources: Path) -> list[Path]:
        """Every file of the source, oldest first (a rotated file before the live one)."""
        folder = sources / self.folder
        found = {p for pattern in self.patterns for p in folder.glob(pattern) if p.is_file()}
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


@dataclass
class Stream:
    """What was landed of one stream before this run."""

    stream_id: str
    bytes_landed: int = 0
    lines_landed: int = 0
    prefix_sha256: str = ""
    known: bool = False


@dataclass
class Landing:
    """What one file adds in this run."""

    path: Path
    stream: Stream
    mode: str  # new | append | replace
    text: str  # the new part, decoded
    first_line: str
    first_line_number: int
    complete_bytes: int  # the stream's landed offset once this commits
    complete_lines: int
    complete_sha256: str
    notes: list[str] = field(default_factory=list)
    partial: bool = False  # a big file lands in parts: more of it follows in this run


def ensure_streams(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, STREAMS_DDL)


def _stream(con, source: str, stream_id: str) -> Stream:
    row = con.execute(
        f"select bytes_landed, lines_landed, prefix_sha256 from {STREAMS} "
        "where source = ? and stream_id = ?",
        [source, stream_id],
    ).fetchall()
    if not row:
        return Stream(stream_id)
    return Stream(stream_id, row[0][0], row[0][1], row[0][2], known=True)


def _identity(data: bytes) -> bytes:
    """What a stream is known by: its first line that holds a digit (a record, or a report's
    date range), not a header that every export of the platform shares."""
    for line in data[:65536].split(b"\n")[:20]:
        if any(48 <= byte <= 57 for byte in line):
            return line.rstrip(b"\r")
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def known_streams(con, source: str) -> dict[str, Stream]:
    """Every stream of the source landed before, by id: read once a run."""
    rows = con.execute(
        f"select stream_id, bytes_landed, lines_landed, prefix_sha256 from {STREAMS} "
        "where source = ?",
        [source],
    ).fetchall()
    return {r[0]: Stream(r[0], r[1], r[2], r[3], known=True) for r in rows}


def plan_landing(
    con,
    source: StreamSource,
    path: Path,
    known: dict[str, Stream] | None = None,
    limit: int | None = None,
) -> Landing | None:
    """What of `path` is new: None when the file adds nothing to what was landed. With a
    `limit`, at most that many new bytes (whole lines): the landing is then `partial`."""
    data = read_bytes(path)
    complete = len(data)
    writing = path.name in LIVE_NAMES and not data.endswith(b"\n")
    if writing:
        complete = data.rfind(b"\n") + 1  # the PBX may be writing the last line right now
    if not data[:complete].strip():
        return None
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    stream_id = hashlib.sha256(source.name.encode() + b"\x00" + _identity(data)).hexdigest()[:24]
    stream = (
        known.get(stream_id, Stream(stream_id))
        if known is not None
        else _stream(con, source.name, stream_id)
    )
    prefix = data[: stream.bytes_landed]
    grows = (
        stream.known
        and complete >= stream.bytes_landed
        and hashlib.sha256(prefix).hexdigest() == stream.prefix_sha256
    )
    if grows and complete == stream.bytes_landed:
        return None
    start, mode = (stream.bytes_landed, "append") if grows else (0, "replace")
    if not stream.known:
        mode = "new"
    whole = complete
    if limit and complete - start > limit:
        cut = data.rfind(b"\n", start, start + limit) + 1
        complete = cut if cut > start else complete
    first_number = stream.lines_landed + 1 if grows else 1
    landing = Landing(
        path=path,
        stream=stream,
        mode=mode,
        text=decode(path, data[start:complete]),
        first_line=decode(path, first_line),
        first_line_number=first_number,
        complete_bytes=complete,
        complete_lines=data[:complete].count(b"\n") + (0 if data[:complete].endswith(b"\n") else 1),
        complete_sha256=hashlib.sha256(data[:complete]).hexdigest(),
    )
    landing.partial = complete < whole
    if writing:
        landing.notes.append("its last line is still being written; it waits for the next run")
    return landing


@dataclass
class Prepared:
    """One file's new lines, read and checked, waiting for the run's transaction."""

    landing: Landing
    batch: RawBatch  # rows with unexpected columns folded into _extra
    drift: list[str]
    unit: str  # the file, relative to the sources folder


def land_stream_source(
    con: duckdb.DuckDBPyConnection,
    source: StreamSource,
    sources: Path,
    batch_id: str,
    progress: Callable[[int, int], None] = lambda files, rows: None,
) -> list[PartitionReport]:
    """Land what every file of the source added, a group of files (GROUP_BYTES on disk)
    per transaction; a file that cannot be read fails alone (audited, named), files that
    add nothing are passed over."""
    ensure_streams(con)
    started = now_utc()
    reports: list[PartitionReport] = []
    known = known_streams(con, source.name)

    def failed(path: Path, message: str) -> None:
        unit = _unit(path, sources)
        _audit_failure(con, batch_id, source.name, unit, message, started)
        reports.append(PartitionReport(source.name, unit, "failed", message=message))

    pending, seen = source.files(sources), set()
    while pending:  # a file landed in part comes back, alone, until it is whole
        partial = []
        for group in _groups(pending):
            parsed = _read_group(con, source, group, sources, known, failed)
            progress(len(set(group) - seen), sum(batch.rows_read for _, batch in parsed))
            seen |= set(group)
            ready = _ready(source, parsed, sources, failed)
            if ready:
                reports += _commit(con, source, ready, batch_id, started)
            partial += [p.landing.path for p in ready if p.landing.partial]
        known, pending = known_streams(con, source.name), partial
    return reports


def _read_group(con, source, group: list[Path], sources: Path, known, failed) -> list:
    """(what each file adds, its new lines parsed) for the files of a group that add
    something: the new lines of all of them parsed together; a file that cannot be read
    is reported through `failed`."""
    landings = []
    for path in group:
        try:
            landing = plan_landing(con, source, path, known, GROUP_BYTES)
        except (SourceError, OSError) as exc:
            failed(path, str(exc))
            continue
        if landing is not None:
            landings.append(landing)
    texts = [NewText(x.path, x.text, x.first_line, x.first_line_number) for x in landings]
    try:
        read = source.parse(texts, sources / source.folder) if texts else []
    except (SourceError, ContractError) as exc:
        read = [str(exc)] * len(texts)
    parsed = []
    for landing, batch in zip(landings, read, strict=True):
        if isinstance(batch, str):
            failed(landing.path, batch)
        else:
            parsed.append((landing, batch))
    return parsed


def _groups(files: list[Path], limit: int = GROUP_BYTES) -> list[list[Path]]:
    """The files in order, in groups of at most `limit` bytes on disk (a bigger file is a
    group of its own): what one transaction holds in memory."""
    groups, size = [[]], 0
    for path in files:
        grows = path.stat().st_size
        if groups[-1] and size + grows > limit:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += grows
    return [g for g in groups if g]


def _ready(source, parsed: list, sources: Path, failed) -> list[Prepared]:
    """The parsed files shaped together and checked; a file that fails is reported."""
    shaped = source.shape([batch for _, batch in parsed], sources / source.folder)
    contract, ready = source.contract(), []
    for (landing, _), batch in zip(parsed, shaped, strict=True):
        checked = (
            batch if isinstance(batch, str) else _checked(source, contract, landing, batch, sources)
        )
        if isinstance(checked, str):
            failed(landing.path, checked)
        else:
            ready.append(checked)
    return ready


def _unit(path: Path, sources: Path) -> str:
    return str(path.relative_to(sources)) if path.is_relative_to(sources) else path.name


def _checked(source, contract, landing: Landing, batch: RawBatch, sources: Path) -> Prepared | str:
    """The file's shaped rows with their columns checked, or the error."""
    present = [c for c in batch.rows.columns if c not in (LINE, RAW)]
    try:
        contract.check_columns(present, str(batch.file))
    except ContractError as exc:
        return str(exc)
    drift = [c for c in present if c not in source.known_columns]
    batch.rows = fold_extras(batch.rows, drift)
    return Prepared(landing, batch, drift, _unit(landing.path, sources))


def _split(source: StreamSource, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid typed rows with their day, rejected rows with reasons) of every file at once;
    an identical line twice in one file is a duplicate (across files, a repeat: _repeats)."""
    contract = source.contract()
    contract = dataclasses.replace(contract, unique_key=(*contract.unique_key, "__file"))
    tags = ("__file", "_source_file", "_stream")
    valid, rejected = contract.split(rows, keep_raw=True)
    valid = source.prepare(valid).with_columns(source.day().alias("_partition"))
    rejected = rejected.join(rows.select(LINE, *tags), on=[LINE, "__file"], how="left")
    return valid, rejected


def _audit_failure(con, batch_id, source, unit, message, started) -> None:
    run_sql(
        con,
        f"insert into {AUDIT} (batch_id, source, partition_key, file, rows_read, rows_loaded, "
        "rows_quarantined, status, message, started_at, finished_at, unit) "
        "values (?, ?, null, ?, 0, 0, 0, 'failed', ?, ?, ?, ?)",
        [batch_id, source, unit, message, started, now_utc(), unit],
    )


def _gathered(source: StreamSource, ready: list[Prepared]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every file's valid rows (with lineage and a row id) and rejected rows, together:
    one contract pass over all the files."""
    tags = pl.DataFrame(
        {
            "__file": range(len(ready)),
            "_source_file": [p.landing.path.name for p in ready],
            "_stream": [p.landing.stream.stream_id for p in ready],
        },
        schema={"__file": pl.Int32, "_source_file": pl.String, "_stream": pl.String},
    )
    text = _tagged([p.batch.rows for p in ready], tags)
    parse_rejects = _tagged([p.batch.rejects.select(LINE, RAW, REASON) for p in ready], tags)
    if text.height:
        valid, rejected = _split(source, text)
    else:
        valid = text.with_columns(pl.lit(None, pl.Date).alias("_partition"))
        rejected = text.select(LINE, RAW, "__file", "_source_file", "_stream").with_columns(
            pl.lit(None, pl.String).alias(REASON)
        )
    rejected = pl.concat([rejected, parse_rejects], how="diagonal_relaxed").with_columns(
        pl.lit(None, pl.Date).alias("_partition")
    )
    return valid.with_row_index("__row"), rejected


def _tagged(frames: list[pl.DataFrame], tags: pl.DataFrame) -> pl.DataFrame:
    """The files' frames as one, each row with its file's `tags` (the k-th frame's row
    gets the k-th tag row): one concatenation, no per-file work."""
    heights = pl.Series([len(f) for f in frames], dtype=pl.UInt32)
    index = pl.int_range(len(frames), dtype=pl.Int32, eager=True).repeat_by(heights)
    whole = pl.concat(frames, how="diagonal_relaxed")  # an empty frame's index is a null:
    whole = whole.with_columns(index.explode().drop_nulls().alias("__file"))
    return whole.join(tags, on="__file", how="left", maintain_order="left")


def _stage(con, valid: pl.DataFrame) -> None:
    """The valid rows into DuckDB once (temp table VALID), each with its line's MD5 (of its
    text without surrounding blanks): how a repeat is found, in this run and later ones."""
    with registered(con, "valid_rows", valid.drop("__file")):
        run_sql(
            con,
            f"create or replace temp table {VALID} as select * exclude ({RAW}), "
            f"md5(trim({RAW})) as _line_md5 from valid_rows",
        )


def _repeats(con, table: str) -> pl.DataFrame:
    """(__row, first_file) of the staged lines that repeat, to the letter, a line landed
    before: in the table (a repeat has the same day, so only the batch's days are read),
    or in a file earlier in this run."""
    earlier = (
        "select __row, first_file from (select __row, first_value(_source_file) over w as "
        "first_file, __row <> min(__row) over w as again from "
        f"{VALID} window w as (partition by _line_md5 order by __row)) where again"
    )
    if not _table_exists(con, table):
        return con.sql(earlier).pl()
    landed = (
        f"select v.__row, min(t._source_file) as first_file from {VALID} v join {table} t "
        f"using (_line_md5) where t._partition between (select min(_partition) from {VALID}) "
        f"and (select max(_partition) from {VALID}) group by v.__row"
    )
    return con.sql(
        f"with landed as ({landed}) select * from landed union all "
        f"select * from ({earlier}) where __row not in (select __row from landed)"
    ).pl()


def _commit(con, source, ready: list[Prepared], batch_id: str, started) -> list[PartitionReport]:
    table = f"{RAW_SCHEMA}.{source.name}"
    valid, rejected = _gathered(source, ready)
    _stage(con, valid)
    with transaction(con, source.name):
        for p in ready:
            if p.landing.mode == "replace":
                _forget_stream(con, source.name, table, p.landing.stream.stream_id)
        fault_point("after_delete", source.name)
        repeats = _repeats(con, table).with_columns(pl.col("__row").cast(pl.UInt32))
        dup = valid.join(repeats, on="__row", how="inner").with_columns(
            pl.format(REPEAT_REASON, pl.col("first_file")).alias(REASON)
        )
        rejected = pl.concat([rejected, dup.select(rejected.columns)], how="diagonal_relaxed")
        loaded = valid.join(repeats, on="__row", how="anti")
        _insert(con, table, loaded, repeats, batch_id, started)
        _quarantine(con, source.name, rejected, batch_id, started)
        reports = _audit(con, source.name, ready, loaded, rejected, batch_id, started)
        _save_streams(con, source.name, [p.landing for p in ready])
    run_sql(con, f"drop table if exists {VALID}")
    return reports


def _insert(con, table: str, loaded: pl.DataFrame, repeats, batch_id: str, started) -> None:
    """The staged rows that are no repeat into the table, with their batch and time."""
    if not loaded.height:
        return
    shape = (
        loaded.head(0)
        .drop(RAW, "__row", "__file")
        .with_columns(
            pl.lit(None, pl.String).alias("_line_md5"),
            pl.lit(None, pl.String).alias("_batch_id"),
            pl.lit(None, pl.Datetime("us")).alias("_loaded_at"),
        )
    )
    write_table(con, table, shape)  # the table, with any column this batch brings
    con.unregister("incoming")
    with registered(con, "repeat_rows", repeats.select("__row")):
        run_sql(
            con,
            f"insert into {table} by name select * exclude (__row), ?::varchar as _batch_id, "
            f"?::timestamp as _loaded_at from {VALID} anti join repeat_rows using (__row)",
            [batch_id, started],
        )


def _table_exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and "
            "table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def _forget_stream(con, source: str, table: str, stream_id: str) -> None:
    """A stream whose landed part changed is landed again: its old rows go first."""
    if _table_exists(con, table):
        run_sql(con, f"delete from {table} where _stream = ?", [stream_id])
    run_sql(con, f"delete from {QUARANTINE} where source = ? and stream = ?", [source, stream_id])


def _quarantine(con, source: str, rejected: pl.DataFrame, batch_id: str, started) -> None:
    """The rejected lines with their reasons (a repeat keeps the day of its row)."""
    rows = rejected.select(
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(source).alias("source"),
        pl.col("_partition").cast(pl.String).alias("partition_key"),
        pl.col("_source_file").alias("file"),
        pl.col(LINE).alias("line_number"),
        pl.col(REASON).alias("reason"),
        pl.col(RAW).alias("raw_content"),
        pl.lit(started).alias("quarantined_at"),
        pl.col("_stream").alias("stream"),
    )
    if rows.height:
        con.register("rejected_rows", rows.to_arrow())
        run_sql(con, f"insert into {QUARANTINE} by name select * from rejected_rows")
        con.unregister("rejected_rows")


def _per_day(loaded: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """(file index, day, loaded, quarantined); rejected rows without a day count as null."""
    keys = ["__file", pl.col("_partition").cast(pl.String).alias("partition_key")]
    ok = loaded.group_by(keys).agg(pl.len().alias("loaded"))
    bad = rejected.group_by(keys).agg(pl.len().alias("quarantined"))
    return (
        ok.join(bad, on=["__file", "partition_key"], how="full", coalesce=True)
        .with_columns(pl.col("loaded", "quarantined").fill_null(0).cast(pl.Int64))
        .sort("__file", "partition_key", nulls_last=True)
    )


def _audit(con, source, ready: list[Prepared], loaded, rejected, batch_id, started) -> list:
    """One audit row per file and day its new lines fall on; read = loaded + quarantined."""
    days = _per_day(loaded, rejected)
    finished, rows, reports = now_utc(), [], []
    by_file = days.partition_by("__file", as_dict=True)
    for i, p in enumerate(ready):
        mine = by_file.get((i,), days.clear())
        n_loaded, n_quarantined = int(mine["loaded"].sum()), int(mine["quarantined"].sum())
        if p.batch.rows_read != n_loaded + n_quarantined:
            raise RuntimeError(  # a bug in landing, never in the data: stop loudly
                f"{p.landing.path}: {p.batch.rows_read} rows read but {n_loaded} loaded and "
                f"{n_quarantined} quarantined"
            )
        notes = [f"{p.landing.mode} ({p.batch.layout or 'layout of the source'})"]
        notes += p.landing.notes
        if p.batch.skipped:
            notes.append(f"{p.batch.skipped} lines are report titles, headers or totals, not rows")
        message = "; ".join(notes)
        rows += [
            (
                batch_id,
                source,
                day,
                p.landing.path.name,
                ok + bad,
                ok,
                bad,
                "loaded",
                message,
                started,
                finished,
                p.unit,
            )
            for _, day, ok, bad in mine.iter_rows()
        ]
        reports.append(
            PartitionReport(
                source,
                p.unit,
                "loaded",
                p.batch.rows_read,
                n_loaded,
                n_quarantined,
                drift=sorted(p.drift),
            )
        )
    insert_audit(con, rows)
    return reports


def _save_streams(con, source: str, landings: list[Landing]) -> None:
    """Each stream's landed offset, in one statement."""
    ids = [landing.stream.stream_id for landing in landings]
    run_sql(con, f"delete from {STREAMS} where source = ? and stream_id in ?", [source, ids])
    saved = now_utc()
    rows = pl.DataFrame(
        {
            "source": [source] * len(landings),
            "stream_id": ids,
            "file": [landing.path.name for landing in landings],
            "bytes_landed": [landing.complete_bytes for landing in landings],
            "lines_landed": [landing.complete_lines for landing in landings],
            "prefix_sha256": [landing.complete_sha256 for landing in landings],
            "updated_at": [saved] * len(landings),
        },
        schema_overrides={"bytes_landed": pl.Int64, "lines_landed": pl.Int64},
    )
    insert_frame(con, STREAMS, rows)
