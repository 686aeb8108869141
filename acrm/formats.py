"""The file formats of the operational sources: one definition for writers and readers.

Asterisk's Master.csv columns and the ad-platform CSV columns with their types. The
generator writes these shapes; landing reads them and treats anything else as drift.
"""

from __future__ import annotations

import polars as pl

# Asterisk cdr_csv: no header, these columns in this order.
CDR_SCHEMA: dict[str, pl.DataType] = {
    "accountcode": pl.String(),
    "src": pl.String(),
    "dst": pl.String(),
    "dcontext": pl.String(),
    "clid": pl.String(),
    "channel": pl.String(),
    "dstchannel": pl.String(),
    "lastapp": pl.String(),
    "lastdata": pl.String(),
    "start": pl.String(),
    "answer": pl.String(),
    "end": pl.String(),
    "duration": pl.Int64(),
    "billsec": pl.Int64(),
    "disposition": pl.String(),
    "amaflags": pl.String(),
    "uniqueid": pl.String(),
    "userfield": pl.String(),
}
CDR_COLUMNS = tuple(CDR_SCHEMA)

# Ad platforms: one CSV per platform and day, with a header.
AD_SPEND_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.String(),
    "platform": pl.String(),
    "account_id": pl.String(),
    "campaign_id": pl.Int64(),
    "campaign_name": pl.String(),
    "utm_campaign": pl.String(),
    "impressions": pl.Int64(),
    "clicks": pl.Int64(),
    "spend": pl.Float64(),
    "currency": pl.String(),
}
