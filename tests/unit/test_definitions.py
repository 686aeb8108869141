"""The Dagster graph: a snapshot of asset keys, groups, jobs and schedules, and its rules.

After an intended change to the graph, refresh the snapshot with
`ACRM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/test_definitions.py`.
"""

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.resources import WRITER_POOL

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "asset_graph.json"


@pytest.fixture(scope="module")
def graph() -> dg.Definitions:
    return defs


def describe(graph: dg.Definitions) -> dict:
    repository = graph.get_repository_def()
    assets = {}
    asset_graph = repository.asset_graph
    for key in sorted(asset_graph.get_all_asset_keys()):
        node = asset_graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in repository.schedule_defs),
    }


def test_the_asset_graph_matches_its_snapshot(graph: dg.Definitions) -> None:
    current = describe(graph)
    if os.environ.get("ACRM_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"snapshot rewritten: {SNAPSHOT}; review its diff, then run without it")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_source_reaches_the_published_warehouse(graph: dg.Definitions) -> None:
    asset_graph = graph.get_repository_def().asset_graph
    published = dg.AssetKey(["published", "warehouse"])
    upstream = asset_graph.get_ancestor_asset_keys(published)
    for source in ("crm_deals", "crm_orders", "cdr_calls", "ga4_events", "ad_spend"):
        assert dg.AssetKey(["raw", source]) in upstream


# the report and the PostgreSQL publication open only the published copy, read-only: they
# need no writer slot
READS_ONLY_THE_PUBLICATION = {
    dg.AssetKey(["published", "report"]),
    dg.AssetKey(["published", "postgresql"]),
}


def test_every_warehouse_writer_is_in_the_single_writer_pool(graph: dg.Definitions) -> None:
    asset_graph = graph.get_repository_def().asset_graph
    for key in asset_graph.materializable_asset_keys - READS_ONLY_THE_PUBLICATION:
        assert asset_graph.get(key).pools == {WRITER_POOL}, key
    for key in READS_ONLY_THE_PUBLICATION:
        assert not asset_graph.get(key).pools, key


def test_dbt_tests_are_asset_checks(graph: dg.Definitions) -> None:
    checks = graph.get_repository_def().asset_graph.asset_check_keys
    names = {check.name for check in checks}
    assert any(name.startswith("unique_fct_deals_deal_id") for name in names)
    assert any(name.startswith("relationships_fct_orders") for name in names)
