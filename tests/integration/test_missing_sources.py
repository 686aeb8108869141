"""A company has a CRM and some of the rest, or none of it: the run works, every check and
report says what has no data, and what is there is whole."""

import shutil
from pathlib import Path

import duckdb
import pytest

from acrm.pipeline import run_all, summarize
from core.settings import Settings
from cubes.report import build_views


def run_with(small_sources: Path, tmp_path: Path, folders: tuple[str, ...]) -> Settings:
    sources = tmp_path / "sources"
    for folder in ("crm", *folders):
        shutil.copytree(small_sources / folder, sources / folder)
    settings = Settings.load(tmp_path / "warehouse" / "acrm.duckdb", sources)
    report = run_all(settings, progress=lambda _: None)
    assert report["failed_partitions"] == []
    return settings


@pytest.fixture(scope="module")
def crm_only(small_sources: Path, tmp_path_factory) -> Settings:
    return run_with(small_sources, tmp_path_factory.mktemp("crm-only"), ())


@pytest.fixture(scope="module")
def no_website(small_sources: Path, tmp_path_factory) -> Settings:
    return run_with(small_sources, tmp_path_factory.mktemp("no-web"), ("calls", "ads"))


def test_a_crm_alone_builds_and_publishes_with_empty_calls_web_and_spend(crm_only, truth):
    with duckdb.connect(str(crm_only.published), read_only=True) as con:
        for fact in (
            "fct_calls",
            "fct_call_legs",
            "fct_queue_calls",
            "fct_web_events",
            "fct_marketing_spend",
        ):
            assert con.execute(f"select count(*) from marts.{fact}").fetchall() == [(0,)], fact
        revenue = con.execute("select sum(revenue) from marts.fct_orders").fetchall()[0][0]
    assert float(revenue) == pytest.approx(truth["totals"]["revenue"], abs=0.01)
    landed = summarize(crm_only)["sources"]
    assert landed["CRM"] > 0
    assert [name for name, rows in landed.items() if not rows] == [
        "call center (calls/)",
        "call-center queues (calls/queue_log)",
        "website (web/)",
        "ad platforms (ads/)",
    ]


def test_each_report_view_without_its_source_says_so(crm_only):
    views = {view.key: view for view in build_views(crm_only.published)}
    assert {key for key, view in views.items() if "no_data" in view.facts} == {
        "romi",
        "calls",
        "content",
    }
    assert "No data for this view: call-center CDR files" in views["calls"].finding
    assert "No call-center data" in views["managers"].finding
    assert views["funnel"].facts["weakest_stage"]  # the CRM's views are whole


def test_the_checks_of_an_absent_source_report_no_data(crm_only):
    import dagster as dg

    from pipelines.definitions import build_definitions

    job = build_definitions(crm_only).resolve_job_def("acrm_full_refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-03-01",
                "dagster/asset_partition_range_end": "2025-03-01",
            },
        )
    checks = {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    for table in ("cdr_calls", "queue_log", "ga4_events", "ad_spend"):
        check = checks[f"raw/{table}"]
        assert check.passed
        assert check.metadata["status"].value == f"no data: raw.{table} is empty"


def test_without_a_website_calls_and_spend_land_and_only_web_views_are_empty(no_website, truth):
    with duckdb.connect(str(no_website.published), read_only=True) as con:
        calls, missed = con.execute(
            "select count(*), count(*) filter (where is_missed) from marts.fct_calls"
        ).fetchall()[0]
        spend = con.execute("select sum(spend) from marts.fct_marketing_spend").fetchall()[0][0]
        sessions = con.execute("select count(*) from marts.fct_web_sessions").fetchall()[0][0]
    assert (calls, missed) == (truth["totals"]["calls"], truth["totals"]["missed_calls"])
    assert float(spend) == pytest.approx(truth["totals"]["spend"], abs=0.05)
    assert sessions == 0
    views = {view.key: view for view in build_views(no_website.published)}
    assert {key for key, view in views.items() if "no_data" in view.facts} == {"content"}
