"""Many files parsed together give what each file parsed alone gives: the same rows, the
same rejects with their file and line, the same layouts and errors."""

from pathlib import Path

import polars as pl

from core.contracts import FILE, LINE, RAW
from pipelines.ingest.files import NewText, lines_frame
from pipelines.ingest.sources import AD_SPEND, CDR
from tests.readers import numbered_lines, whole_text
from tests.unit.test_ad_reports import GOOGLE_API, META_API, YANDEX
from tests.unit.test_cdr_formats import QUEUE_CALL_21, RINGALL_18

AWKWARD = "a\r\nb\n\n  \nc\rd\x85e\u2028f\x0bg\n\nlast"


def test_lines_are_numbered_as_python_splits_them() -> None:
    texts, firsts = [AWKWARD, "", "x\ny\n", AWKWARD], [1, 1, 7, 40]
    frame = lines_frame(texts, firsts)
    for i, (text, first) in enumerate(zip(texts, firsts, strict=True)):
        mine = frame.filter(pl.col(FILE) == i).select(LINE, RAW).rows()
        assert mine == numbered_lines(text, first)
    assert frame.filter(pl.col(FILE) == 3)[LINE].to_list()[:3] == [40, 41, 44]


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def alone_and_together(source, paths: list[Path], folder: Path):
    texts = [whole_text(p) for p in paths]
    alone = [source.parse([t], folder)[0] for t in texts]
    return alone, source.parse(texts, folder)


def same_batch(a, b) -> None:
    assert (a.file, a.rows_read, a.layout, a.skipped) == (b.file, b.rows_read, b.layout, b.skipped)
    assert a.rows.equals(b.rows.select(a.rows.columns)), a.file
    assert a.rejects.equals(b.rejects), a.file


def test_cdr_files_of_several_layouts_and_a_broken_line_parse_as_alone(tmp_path: Path) -> None:
    header = "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,"
    header += "billsec,disposition,amaflags,accountcode,uniqueid,userfield"
    export = "2025-03-03 10:00:00,Ivan,79161234567,100,from-trunk,SIP/a,SIP/b,Dial,x,"
    export += "20,15,ANSWERED,DOCUMENTATION,,1741000800.1,"
    paths = [
        write(tmp_path, "Master-21.csv", QUEUE_CALL_21),
        write(tmp_path, "Master-18.csv", RINGALL_18),
        write(tmp_path, "Master-broken.csv", [RINGALL_18[0], '"unterminated', RINGALL_18[1]]),
        write(tmp_path, "export.csv", [header, export]),
        write(tmp_path, "odd.csv", ["a,b,c,d,e"]),
    ]
    alone, together = alone_and_together(CDR, paths, tmp_path)
    for a, b in zip(alone[:4], together[:4], strict=True):
        same_batch(a, b)
    assert together[2].rejects[LINE].to_list() == [2]
    assert together[2].rows[LINE].to_list() == [1, 3]
    assert together[3].layout == "export with a header line" and together[3].rows_read == 1
    assert isinstance(together[4], str) and "odd.csv: line 1 has 5 fields" in together[4]


def test_an_appended_part_keeps_its_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "Master.csv", RINGALL_18)
    first = path.read_text().splitlines()[0]
    (batch,) = CDR.parse([NewText(path, RINGALL_18[1] + "\n", first, 2)], tmp_path)
    assert batch.rows[LINE].to_list() == [2] and batch.layout == alone_layout(path, tmp_path)


def alone_layout(path: Path, folder: Path) -> str:
    return CDR.parse([whole_text(path)], folder)[0].layout


def test_ad_reports_of_several_layouts_parse_as_alone(tmp_path: Path) -> None:
    ads = tmp_path / "ads"
    paths = [
        write(ads, "google_ads/api.csv", GOOGLE_API.splitlines()),
        write(ads, "meta_ads/insights.csv", META_API.splitlines()),
        write(ads, "yandex_direct/report.tsv", YANDEX.splitlines()),
        write(ads, "other/export.csv", ["a,b,c", "1,2,3"]),
        write(ads, "google_ads/api-2.csv", GOOGLE_API.splitlines()),
    ]
    alone, together = alone_and_together(AD_SPEND, paths, ads)
    for i in (0, 1, 2, 4):
        same_batch(alone[i], together[i])
        assert together[i].meta["layout"].name == alone[i].meta["layout"].name
    assert together[2].skipped == 3  # the report title, the header and "Total rows: 1"
    assert isinstance(together[3], str) and "export.csv: no header" in together[3]
