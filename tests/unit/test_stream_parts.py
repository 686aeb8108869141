"""A stream bigger than a transaction's share lands in parts, the same as whole."""

import uuid
from pathlib import Path

import duckdb

from pipelines.ingest import streams
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import QUEUE_LOG


def queue_log(folder: Path, lines: int) -> None:
    rows = []
    for i in range(lines):
        stamp = 1735700000 + i * 7
        rows.append(f"{stamp}|{stamp}.{i}|sales|NONE|ENTERQUEUE||8916{i:07d}|1")
    (folder / "calls").mkdir(parents=True)
    (folder / "calls" / "queue_log").write_text("\n".join(rows) + "\n")


def land(sources: Path, db: Path) -> list:
    with duckdb.connect(str(db)) as con:
        ensure_bookkeeping(con)
        streams.land_stream_source(con, QUEUE_LOG, sources, str(uuid.uuid4()))
        return [
            con.execute("select _line_number, _line_md5 from raw.queue_log order by 1").fetchall(),
            con.execute("select bytes_landed, lines_landed from raw._file_streams").fetchall(),
            con.execute("select sum(rows_read), sum(rows_loaded) from raw._load_audit").fetchall(),
        ]


def test_a_big_file_lands_in_parts_exactly_as_it_lands_whole(tmp_path, monkeypatch) -> None:
    queue_log(tmp_path / "sources", 3000)
    whole = land(tmp_path / "sources", tmp_path / "whole.duckdb")
    monkeypatch.setattr(streams, "GROUP_BYTES", 20_000)  # about 8 parts
    parts = land(tmp_path / "sources", tmp_path / "parts.duckdb")
    assert parts == whole
    assert len(whole[0]) == 3000 and whole[2] == [(3000, 3000)]
    appended = "select count(*) from raw._load_audit where message like 'append%'"
    with duckdb.connect(str(tmp_path / "parts.duckdb")) as con:
        assert con.execute(appended).fetchall()[0][0] > 0  # later parts append to the first
    with duckdb.connect(str(tmp_path / "whole.duckdb")) as con:
        assert con.execute(appended).fetchall()[0][0] == 0
