"""Contracts split rows into loadable and quarantined, with every reason a row fails."""

import datetime as dt

import polars as pl

from core.contracts import Column, Contract, Rule
from pipelines.ingest.sources import ad_spend_contract, cdr_contract

NOW = dt.datetime(2025, 6, 1)


def contract() -> Contract:
    return Contract(
        "example",
        (
            Column("id", pl.String(), nullable=False),
            Column("n", pl.Int64(), non_negative=True),
            Column("kind", pl.String(), allowed=("a", "b")),
            Column(
                "at", pl.Datetime("us"), timestamp_format="%Y-%m-%d %H:%M:%S", not_in_future=True
            ),
            Column(
                "until", pl.Datetime("us"), timestamp_format="%Y-%m-%d %H:%M:%S", required=False
            ),
        ),
        rules=(Rule("until before at", pl.col("until") < pl.col("at")),),
        unique_key=("id",),
        now=NOW,
    )


def test_rows_are_typed_or_quarantined_with_every_reason() -> None:
    frame = pl.DataFrame(
        {
            "id": ["1", "2", "", "3", "1", "4"],
            "n": ["5", "-1", "3", "x", "5", "7"],
            "kind": ["a", "b", "c", "a", "a", "b"],
            "at": ["2025-01-01 10:00:00"] * 3
            + ["2099-01-01 00:00:00", "2025-01-01 10:00:00", "2025-01-02 00:00:00"],
            "until": ["", "", "", "", "", "2025-01-01 00:00:00"],
            "_line_number": [1, 2, 3, 4, 5, 6],
            "_raw": ["r1", "r2", "r3", "r4", "r5", "r6"],
        }
    )
    valid, rejected = contract().split(frame)
    assert valid.to_dicts() == [
        {
            "id": "1",
            "n": 5,
            "kind": "a",
            "at": dt.datetime(2025, 1, 1, 10),
            "until": None,
            "_line_number": 1,
        }
    ]
    assert {r["_line_number"]: r["_reason"] for r in rejected.to_dicts()} == {
        2: "n is negative",
        3: "id is missing; kind: unknown value 'c' (expected one of a, b)",
        4: "n: 'x' is not a valid int64; at is in the future",
        5: "duplicate of an earlier row in this batch",
        6: "until before at",
    }
    assert rejected["_raw"].to_list() == ["r2", "r3", "r4", "r5", "r6"]
    assert valid.height + rejected.height == frame.height


def test_an_invalid_first_copy_does_not_make_the_valid_second_a_duplicate() -> None:
    frame = pl.DataFrame(
        {"id": ["1", "1"], "n": ["-5", "5"], "kind": ["a", "a"], "at": ["2025-01-01 10:00:00"] * 2}
    )
    valid, rejected = contract().split(frame)
    assert valid["n"].to_list() == [5]
    assert rejected["_reason"].to_list() == ["n is negative"]


def test_cdr_invariants() -> None:
    row = {
        c: ""
        for c in (
            "accountcode",
            "clid",
            "channel",
            "dstchannel",
            "lastapp",
            "lastdata",
            "amaflags",
            "userfield",
            "dcontext",
        )
    }
    rows = pl.DataFrame(
        [
            {
                **row,
                "src": "1",
                "dst": "2",
                "start": "2025-01-01 10:00:00",
                "answer": "2025-01-01 09:00:00",
                "end": "2025-01-01 09:59:00",
                "duration": "10",
                "billsec": "20",
                "disposition": "HUNG UP",
                "uniqueid": "u1",
            },
        ]
    )
    _, rejected = cdr_contract().split(rows)
    reasons = rejected["_reason"][0].split("; ")
    assert set(reasons) == {
        "disposition: unknown value 'HUNG UP' (expected one of ANSWERED, NO ANSWER, BUSY, "
        "FAILED, CONGESTION)",
        "end before start",
        "answered before the call started",
        "talk time longer than the call",
    }


def test_ad_spend_rejects_negative_spend_and_impossible_clicks() -> None:
    rows = pl.DataFrame(
        {
            "date": ["2025-01-01", "2025-01-01"],
            "platform": ["vk_ads"] * 2,
            "campaign_id": ["1", "2"],
            "impressions": ["10", "10"],
            "clicks": ["1", "11"],
            "spend": ["-5.0", "3.0"],
            "currency": ["RUB", "RUB"],
        }
    )
    valid, rejected = ad_spend_contract().split(rows)
    assert valid.height == 0
    assert rejected["_reason"].to_list() == ["spend is negative", "more clicks than impressions"]
