"""The file formats of the operational sources: one definition for writers and readers.

Asterisk's Master.csv columns and the ad-platform CSV columns with their types. The
generator writes these shapes; landing reads them and treats anything else as drift.
"""

from __future__ import annotations

import polars as pl

# Asterisk cdr_csv (cdr_csv.c): no header, strings quoted, these columns in this order. The
# last two are written only with `loguniqueid` and `loguserfield`, and `newcdrcolumns`
# (Asterisk 1.8 and later) appends peeraccount, linkedid and sequence.
CDR_BASE_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
CDR_NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
CDR_COLUMNS = (*CDR_BASE_COLUMNS, "uniqueid", "userfield")  # the classic 18
CDR_LAYOUTS: dict[str, tuple[str, ...]] = {  # cdr_csv's layouts, told apart by field count
    "cdr_csv 16 (no uniqueid, no userfield)": CDR_BASE_COLUMNS,
    "cdr_csv 17 (uniqueid)": (*CDR_BASE_COLUMNS, "uniqueid"),
    "cdr_csv 18 (classic)": CDR_COLUMNS,
    "cdr_csv 19 (newcdrcolumns, no uniqueid, no userfield)": (
        *CDR_BASE_COLUMNS,
        *CDR_NEW_COLUMNS,
    ),
    "cdr_csv 20 (uniqueid, newcdrcolumns)": (*CDR_BASE_COLUMNS, "uniqueid", *CDR_NEW_COLUMNS),
    "cdr_csv 21 (newcdrcolumns)": (*CDR_COLUMNS, *CDR_NEW_COLUMNS),
}
# Every column a CDR may carry, in the raw table's order; a layout fills what it has.
CDR_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in (*CDR_COLUMNS, *CDR_NEW_COLUMNS)},
    "duration": pl.Int64(),
    "billsec": pl.Int64(),
    "sequence": pl.Int64(),
}
CDR_ALL_COLUMNS = tuple(CDR_SCHEMA)
# Header names that PBX web interfaces (FreePBX, Issabel, VitalPBX) and the cdr database
# tables use for the same fields; matched case-insensitively, spaces and dashes as '_'.
CDR_HEADER_ALIASES = {
    "calldate": "start",
    "call_date": "start",
    "start_time": "start",
    "answer_time": "answer",
    "end_time": "end",
    "source": "src",
    "destination": "dst",
    "destination_context": "dcontext",
    "callerid": "clid",
    "caller_id": "clid",
    "destination_channel": "dstchannel",
    "last_application": "lastapp",
    "last_app": "lastapp",
    "last_data": "lastdata",
    "billable_seconds": "billsec",
    "ama_flags": "amaflags",
    "unique_id": "uniqueid",
    "user_field": "userfield",
    "account_code": "accountcode",
    "linked_id": "linkedid",
    "peer_account": "peeraccount",
}

# Ad platforms: one CSV per platform and day, with a header.
AD_SPEND_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.String(),
    "platform": pl.String(),
    "account_id": pl.String(),
    "campaign_id": pl.String(),  # the platform's id: digits, but too long for some engines
    "campaign_name": pl.String(),
    "utm_campaign": pl.String(),
    "impressions": pl.Int64(),
    "clicks": pl.Int64(),
    "spend": pl.Float64(),
    "currency": pl.String(),
}
# Every ad report lands in these columns (pipelines/ingest/ads.py): ACRM's CSV as it is, the
# platforms' reports renamed; ad_id for reports at ad level (Meta).
AD_SPEND_COLUMNS = (*AD_SPEND_SCHEMA, "ad_id")
