"""CDR files in the layouts Asterisk and PBX web interfaces write, from their documentation.

cdr_csv.c writes every text field quoted, numbers bare, an empty time as an empty unquoted
field; `loguniqueid`, `loguserfield` and `newcdrcolumns` (peeraccount, linkedid, sequence)
decide the field count. cdr_custom writes what its mapping says. A PBX web interface's
download has a header line with the cdr table's column names.
"""

from pathlib import Path

import pytest

from core.contracts import LINE
from pipelines.ingest.cdr import custom_layout, detect_layout
from pipelines.ingest.files import SourceError
from pipelines.ingest.sources import CDR
from tests.readers import read_whole

# One queue call that rang two agents (Asterisk 12+: a CDR per agent dialled), 21 fields.
QUEUE_CALL_21 = [
    '"","79161234567","100","from-trunk","""Ivan"" <79161234567>","SIP/trunk-00000010",'
    '"SIP/101-00000011","Queue","sales,t,,,300","2025-03-03 10:00:00",,'
    '"2025-03-03 10:00:15",15,0,"NO ANSWER","DOCUMENTATION","1741000800.16","","",'
    '"1741000800.16",21',
    '"","79161234567","100","from-trunk","""Ivan"" <79161234567>","SIP/trunk-00000010",'
    '"SIP/102-00000012","Queue","sales,t,,,300","2025-03-03 10:00:15",'
    '"2025-03-03 10:00:20","2025-03-03 10:03:20",185,180,"ANSWERED","DOCUMENTATION",'
    '"1741000800.16","","","1741000800.16",22',
]
# The classic 18 fields (loguniqueid and loguserfield on): ringall legs share uniqueid.
RINGALL_18 = [
    '"","89161234567","100","from-pstn","""89161234567"" <89161234567>",'
    '"PJSIP/trunk-0000002a","PJSIP/101-0000002b","Dial","PJSIP/101&PJSIP/102,30",'
    '"2025-03-03 11:00:00",,"2025-03-03 11:00:30",30,0,"NO ANSWER","DOCUMENTATION",'
    '"1741003200.42",""',
    '"","89161234567","100","from-pstn","""89161234567"" <89161234567>",'
    '"PJSIP/trunk-0000002a","PJSIP/102-0000002c","Dial","PJSIP/101&PJSIP/102,30",'
    '"2025-03-03 11:00:00",,"2025-03-03 11:00:30",30,0,"NO ANSWER","DOCUMENTATION",'
    '"1741003200.42",""',
]
# Neither loguniqueid nor loguserfield: 16 fields.
PLAIN_16 = (
    '"","101","79031234567","from-internal","""Anna"" <101>","SIP/101-00000001",'
    '"SIP/trunk-00000002","Dial","SIP/trunk/79031234567,60","2025-03-03 12:00:00",'
    '"2025-03-03 12:00:05","2025-03-03 12:01:05",65,60,"ANSWERED","DOCUMENTATION"'
)
# A FreePBX "CDR Reports" download: a header, calldate instead of start, no answer or end.
EXPORT = [
    "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,"
    "disposition,amaflags,accountcode,uniqueid,userfield,did,recordingfile,cnum,cnam,"
    "outbound_cnum,outbound_cnam,dst_cnam,linkedid,peeraccount,sequence",
    '2025-03-03 13:00:00,"""Ivan"" <79161234567>",79161234567,101,ext-queues,'
    "SIP/trunk-00000020,SIP/101-00000021,Queue,401,40,0,NO ANSWER,3,,1741006800.32,,"
    "74951234567,,79161234567,Ivan,,,,1741006800.32,,31",
]
CUSTOM_FIELDS = "clid src dst dstchannel start answer end duration billsec disposition uniqueid"
CUSTOM_CONF = (
    "; cdr_custom.conf as the PBX has it\n[mappings]\nMaster.csv => "
    + "${CSV_QUOTE(${CDR(clid)})}|"
    + "|".join(f"${{CDR({name})}}" for name in [*CUSTOM_FIELDS.split()[1:], "linkedid"])
    + "\n"
)
CUSTOM_LINE = (
    '"""Ivan"" <79161234567>"|79161234567|100|SIP/103-00000031|2025-03-03 14:00:00|'
    "2025-03-03 14:00:04|2025-03-03 14:02:04|124|120|ANSWERED|1741010400.48|1741010400.48"
)


def read(folder: Path, name: str, lines: list[str]):
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = read_whole(CDR, path, folder)
    valid, rejected = CDR.contract().split(batch.rows, keep_raw=True)
    return batch, valid, rejected


def test_newcdrcolumns_legs_keep_linkedid_and_sequence(tmp_path: Path) -> None:
    batch, valid, rejected = read(tmp_path, "Master.csv", QUEUE_CALL_21)
    assert batch.layout == "cdr_csv 21 (newcdrcolumns)"
    assert rejected.height == 0 and valid.height == 2  # two legs, not a duplicate
    assert valid["sequence"].to_list() == [21, 22]
    assert valid["linkedid"].unique().to_list() == ["1741000800.16"]
    assert valid["answer"].to_list()[0] is None  # cdr_csv writes an unset time as ,,


def test_classic_layout_keeps_ringall_legs_told_apart_by_dstchannel(tmp_path: Path) -> None:
    batch, valid, rejected = read(tmp_path, "Master.csv", RINGALL_18)
    assert batch.layout == "cdr_csv 18 (classic)"
    assert rejected.height == 0
    assert valid["dstchannel"].to_list() == ["PJSIP/101-0000002b", "PJSIP/102-0000002c"]
    assert valid["sequence"].to_list() == [None, None]


def test_only_an_exact_repeat_of_a_line_is_a_duplicate(tmp_path: Path) -> None:
    _, valid, rejected = read(tmp_path, "Master.csv", [*RINGALL_18, RINGALL_18[1]])
    assert valid.height == 2
    assert rejected.select(LINE, "_reason").rows() == [
        (3, "duplicate of an earlier row in this batch")
    ]


def test_sixteen_fields_without_uniqueid_or_userfield(tmp_path: Path) -> None:
    batch, valid, _ = read(tmp_path, "Master.csv", [PLAIN_16])
    assert batch.layout.startswith("cdr_csv 16")
    assert valid["billsec"].to_list() == [60] and valid["uniqueid"].to_list() == [None]


def test_a_pbx_download_is_read_by_its_header(tmp_path: Path) -> None:
    batch, valid, rejected = read(tmp_path, "cdr-export.csv", EXPORT)
    assert batch.layout == "export with a header line" and rejected.height == 0
    assert batch.rows_read == 1  # the header is not a row
    row = valid.row(0, named=True)
    assert str(row["start"]) == "2025-03-03 13:00:00" and row["end"] is None
    assert (row["duration"], row["sequence"], row["linkedid"]) == (40, 31, "1741006800.32")
    assert {"did", "recordingfile", "cnum"} <= set(batch.rows.columns)  # kept as drift


def test_a_cdr_custom_mapping_gives_columns_and_delimiter(tmp_path: Path) -> None:
    (tmp_path / "cdr_custom.conf").write_text(CUSTOM_CONF)
    layout = custom_layout(tmp_path)
    assert layout.delimiter == "|" and layout.columns[:3] == ("clid", "src", "dst")
    batch, valid, rejected = read(tmp_path, "Master.csv", [CUSTOM_LINE])
    assert batch.layout == "cdr_custom (cdr_custom.conf)" and rejected.height == 0
    assert valid.row(0, named=True)["clid"] == '"Ivan" <79161234567>'
    assert valid.row(0, named=True)["billsec"] == 120


def test_an_unknown_layout_names_the_file_and_the_field_count(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"odd\.csv: line 1 has 5 fields.*16, 17, 18, 19"):
        detect_layout(tmp_path / "odd.csv", "a,b,c,d,e", None)


def test_iso_and_day_first_times_read_as_asterisk_times(tmp_path: Path) -> None:
    iso = QUEUE_CALL_21[0].replace('"2025-03-03 10:00:00"', '"2025-03-03T10:00:00"')
    day_first = QUEUE_CALL_21[1].replace('"2025-03-03 10:00:15"', '"03.03.2025 10:00:15"')
    _, valid, rejected = read(tmp_path, "Master.csv", [iso, day_first])
    assert rejected.height == 0
    assert [str(t) for t in valid["start"]] == ["2025-03-03 10:00:00", "2025-03-03 10:00:15"]
