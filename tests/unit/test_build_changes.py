"""A whole dbt build or only what changed (pipelines/warehouse/changes.py)."""

from pathlib import Path

import duckdb
import yaml

from core.settings import DBT_PROJECT_DIR
from pipelines.identity.assets import LANDED
from pipelines.warehouse.changes import (
    SELECTOR,
    KeptTables,
    missing_relations,
    plan_build,
    prune_targets,
    save_state,
    state_dir,
)


def node(kind: str, schema: str, name: str, deps=(), materialized="table") -> dict:
    return {
        "resource_type": kind,
        "schema": schema,
        "alias": name,
        "config": {"materialized": materialized},
        "depends_on": {"nodes": list(deps)},
    }


MANIFEST = {
    "nodes": {
        "seed.a.codes": node("seed", "reference", "codes", materialized="seed")
        | {"depends_on": {}},
        "model.a.stg": node("model", "staging", "stg", materialized="view"),
        "model.a.eph": node("model", "staging", "eph", materialized="ephemeral"),
        "model.a.fct": node("model", "marts", "fct", ["model.a.stg", "seed.a.codes"]),
        "model.a.rpt": node("model", "marts", "rpt", ["model.a.fct"]),
        "test.a.not_null": node("test", "marts", "not_null", ["model.a.fct"]),
    }
}


def with_state(tmp_path: Path) -> Path:
    state = tmp_path / "acrm.duckdb.dbt-state"
    state.mkdir()
    for name in ("sources.json", "manifest.json"):
        (state / name).write_text("{}")
    return state


def test_the_state_lives_beside_the_warehouse_file() -> None:
    assert state_dir("/data/w/acrm.duckdb") == Path("/data/w/acrm.duckdb.dbt-state")


def test_a_warehouse_with_state_builds_only_the_changed_nodes(tmp_path) -> None:
    state = with_state(tmp_path)
    plan = plan_build(state, [], forced=False, fresh=True)
    assert plan.args == ["build", "--selector", SELECTOR, "--state", str(state)]
    assert not plan.whole


def test_each_reason_for_a_whole_build_is_named(tmp_path) -> None:
    state = with_state(tmp_path)
    cases = {
        "ACRM_FULL_BUILD=1": plan_build(state, [], forced=True, fresh=True),
        "no earlier good build": plan_build(tmp_path / "none", [], forced=False, fresh=True),
        "lacks marts.fct, marts.rpt, x.y and 1 more": plan_build(
            state, ["marts.fct", "marts.rpt", "x.y", "x.z"], forced=False, fresh=True
        ),
        "freshness failed": plan_build(state, [], forced=False, fresh=False),
    }
    for why, plan in cases.items():
        assert plan.whole and plan.args == ["build"] and why in plan.why, why
    (state / "sources.json").unlink()
    assert plan_build(state, [], forced=False, fresh=True).whole


def test_missing_relations_are_the_built_nodes_the_warehouse_lacks() -> None:
    con = duckdb.connect()
    con.execute("create schema staging; create schema marts; create schema reference")
    con.execute("create view staging.stg as select 1 as x; create table marts.fct (x int)")
    assert missing_relations(con, MANIFEST) == ["marts.rpt", "reference.codes"]


def test_kept_tables_come_just_before_what_depends_on_them_then_the_rest() -> None:
    outputs = {"seed.a.codes", "model.a.stg", "model.a.fct", "model.a.rpt"}
    kept = KeptTables(MANIFEST, outputs)
    # stg was rebuilt; fct is rebuilt next: the seed it reads (kept) must come first
    assert kept.before("model.a.stg") == []
    assert kept.before("model.a.fct") == ["seed.a.codes"]
    assert kept.rest() == ["model.a.rpt"]
    assert kept.rest() == []


def test_kept_tables_are_ordered_through_nodes_without_outputs() -> None:
    manifest = {
        "nodes": {
            "model.a.base": node("model", "s", "base"),
            "model.a.eph": node("model", "s", "eph", ["model.a.base"], "ephemeral"),
            "model.a.mid": node("model", "s", "mid", ["model.a.eph"]),
            "model.a.top": node("model", "s", "top", ["model.a.mid"]),
        }
    }
    kept = KeptTables(manifest, {"model.a.base", "model.a.mid", "model.a.top"})
    assert kept.before("model.a.top") == ["model.a.base", "model.a.mid"]
    assert kept.rest() == []


def test_saving_the_state_replaces_it_whole(tmp_path) -> None:
    target, state = tmp_path / "target", tmp_path / "w.duckdb.dbt-state"
    target.mkdir()
    for name, text in {
        "sources.json": "new",
        "manifest.json": "new",
        "run_results.json": "x",
    }.items():
        (target / name).write_text(text)
    state.mkdir()
    (state / "sources.json").write_text("old")
    (state / "stray").write_text("old")
    save_state(target, state)
    assert sorted(p.name for p in state.iterdir()) == ["manifest.json", "sources.json"]
    assert (state / "sources.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target", "w.duckdb.dbt-state"]


def test_old_target_folders_are_pruned_to_the_newest(tmp_path) -> None:
    import os

    for i in range(6):
        folder = tmp_path / f"warehouse_models-{i}"
        folder.mkdir()
        os.utime(folder, (i, i))
    (tmp_path / "manifest.json").write_text("{}")
    prune_targets(tmp_path, tmp_path / "warehouse_models-5", "warehouse_models", last=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "warehouse_models-3",
        "warehouse_models-4",
        "warehouse_models-5",
    ]


def test_every_landed_source_reports_when_rows_landed() -> None:
    for path in (DBT_PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            config = source["config"]
            assert "freshness" in config, path
            assert config.get("loaded_at_field") == "_loaded_at" or config.get("loaded_at_query"), (
                path
            )


def test_the_identity_map_is_as_fresh_as_the_tables_it_is_built_from() -> None:
    path = DBT_PROJECT_DIR / "models" / "staging" / "identity" / "_identity__sources.yml"
    query = yaml.safe_load(path.read_text())["sources"][0]["config"]["loaded_at_query"]
    read = {tuple(part.split(".")) for part in query.split() if part.startswith("raw.")}
    assert read == {tuple(key) for key in LANDED}


def test_the_dbt_environment_is_put_back_after_a_build(monkeypatch, tmp_path) -> None:
    """A run in a long-lived process must not leave its lake for the next run's dbt."""
    import os

    from pipelines.resources import WarehouseResource
    from pipelines.warehouse.assets import dbt_environment

    monkeypatch.setenv("ACRM_WAREHOUSE", "before.duckdb")
    monkeypatch.delenv("ACRM_LAKE", raising=False)
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    with dbt_environment(warehouse):
        assert os.environ["ACRM_LAKE"] == str(tmp_path / "lake")
        assert os.environ["ACRM_WAREHOUSE"] == str(tmp_path / "w.duckdb")
    assert os.environ["ACRM_WAREHOUSE"] == "before.duckdb"
    assert "ACRM_LAKE" not in os.environ
