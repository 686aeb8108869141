"""Great Expectations suites: each file is a valid GX 1.x suite; severities decide blocking."""

import json

import pandas as pd
import pytest

from core.settings import EXPECTATIONS_DIR
from pipelines.definitions import defs
from pipelines.quality.checks import validate

SUITES = sorted(EXPECTATIONS_DIR.glob("*.json"))


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.stem)
def test_every_suite_has_severities_and_a_landed_table(suite) -> None:
    document = json.loads(suite.read_text())
    assert document["expectations"]
    assert {e["meta"]["severity"] for e in document["expectations"]} <= {"error", "warning"}
    keys = {k.to_user_string() for k in defs.get_repository_def().asset_graph.get_all_asset_keys()}
    assert f"raw/{suite.stem}" in keys


def test_an_error_failure_blocks_and_a_warning_only_reports() -> None:
    frame = pd.DataFrame(
        {
            "campaign_id": [1, 2],
            "spend": [10.0, -1.0],
            "clicks": [1, 2],
            "impressions": [10, 20],
            "currency": ["RUB", "RUB"],
        }
    )
    errors_pass, all_pass, rows = validate(EXPECTATIONS_DIR / "ad_spend.json", frame)
    assert not errors_pass and not all_pass
    failed = [r for r in rows if not r["success"]]
    assert [(r["column"], r["unexpected"]) for r in failed] == [("spend", 1)]

    calls = pd.DataFrame(
        {
            "uniqueid": ["a", None],  # cdr_csv without loguniqueid: a warning
            "disposition": ["ANSWERED"] * 2,
            "billsec": [1, 2],
            "duration": [3, 4],
            "start": [1, 2],
            "end": [2, 3],
            "_source_file": ["f", "f"],
            "src": ["1", "1"],
        }
    )
    errors_pass, all_pass, rows = validate(EXPECTATIONS_DIR / "cdr_calls.json", calls)
    assert errors_pass and not all_pass  # it failed, and only a warning failed
    failed = [(r["column"], r["severity"], r["unexpected"]) for r in rows if not r["success"]]
    assert failed == [("uniqueid", "warning", 1)]


def test_the_checks_block_what_is_downstream() -> None:
    checks = defs.get_repository_def().asset_graph.asset_check_keys
    gx = [c for c in checks if c.name == "great_expectations"]
    assert {c.asset_key.to_user_string() for c in gx} == {f"raw/{p.stem}" for p in SUITES}


def test_chunks_are_judged_together_for_mostly() -> None:
    def events(rows: int, bad: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "event_name": ["page_view"] * rows,
                "user_pseudo_id": ["u"] * rows,
                "event_at": pd.Timestamp("2025-01-01"),
                "engagement_time_msec": [100] * rows,
                "page_location": ["ftp://x"] * bad + ["https://shop.example/"] * (rows - bad),
                "device_category": ["desktop"] * rows,
            }
        )

    suite = EXPECTATIONS_DIR / "ga4_events.json"
    # 1 bad URL in 50 fails `mostly: 0.99` alone; 1 in 150 over both chunks passes
    assert not validate(suite, events(50, 1))[1]
    errors_pass, all_pass, rows = validate(suite, iter([events(100, 0), events(50, 1)]))
    assert errors_pass and all_pass
    regex = next(r for r in rows if r["expectation"] == "expect_column_values_to_match_regex")
    assert regex["unexpected"] == 1
