"""Every dbt model, seed and test as Dagster assets and checks, linked to the landing assets."""

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from core.settings import full_build_forced, warehouse_engine
from pipelines.resources import WRITER_POOL, WarehouseResource
from pipelines.warehouse.changes import (
    BUILT,
    KeptTables,
    missing_relations,
    plan_build,
    prune_targets,
    save_state,
    selected_count,
    state_dir,
)
from pipelines.warehouse.project import dbt_project, require_manifest
from pipelines.warehouse.spark import SPARK_CANNOT_BUILD, build_in_subprocess, load_marts

TARGETS = "warehouse_models"
UNCHANGED = {
    "rebuilt": False,
    "why": "its inputs and code did not change since the last good build",
}


class SkipUnchangedChecks(logging.Filter):
    """Dagster warns that each blocking check of a model a daily build did not rebuild
    "emitted no result"; those tests ran when the model was last built, on the same rows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"emitted no result in step '{TARGETS}'" not in record.getMessage()


logging.getLogger("dagster._core.execution.plan.active").addFilter(SkipUnchangedChecks())


class WarehouseTranslator(DagsterDbtTranslator):
    """Keys and groups from the project's own layout, not from if-chains on names.

    A model's key is [schema, name] (staging/stg_crm__deals, marts/fct_deals); its group is
    its folder below models/ (staging_crm, marts_sales). Sources keep the landing asset key
    their `meta.dagster.asset_key` names.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "snapshot":
            return "snapshots"
        folders = dbt_resource_props["fqn"][1:-1]
        return "_".join(folders) if folders else "warehouse"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=require_manifest(),
    dagster_dbt_translator=translator,
    project=dbt_project,
    pool=WRITER_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """`dbt build`: seeds, models and their tests, in dependency order; on a daily run only
    what the newly landed data touches (pipelines/warehouse/changes.py).

    dbt's profile reads the warehouse path from ACRM_WAREHOUSE, and the `raw_source` macro
    the lake's from ACRM_LAKE (when ACRM_RAW_LAYER=lake); the resource decides both.
    """
    with dbt_environment(warehouse):
        if warehouse_engine() == "spark":
            yield from _build_on_spark(context, dbt, warehouse)
            return
        if context.is_subset:  # a hand-picked selection in the UI: exactly that, no state
            yield from dbt.cli(["build"], context=context).stream()
            return
        yield from _build(context, dbt, warehouse)


@contextmanager
def dbt_environment(warehouse: WarehouseResource) -> Iterator[None]:
    """ACRM_WAREHOUSE and ACRM_LAKE for dbt's subprocesses, put back afterwards: a run in a
    long-lived process (tests, `acrm run` twice) must not send the next run's lake here."""
    saved = {name: os.environ.get(name) for name in ("ACRM_WAREHOUSE", "ACRM_LAKE")}
    os.environ["ACRM_WAREHOUSE"] = warehouse.path
    os.environ["ACRM_LAKE"] = str(warehouse.lake_path)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """The daily or whole build, with kept tables marked as not rebuilt."""
    target = Path(dbt_project.project_dir) / "target" / f"{TARGETS}-{context.run.run_id[:8]}"
    prune_targets(target.parent, target, TARGETS)
    fresh = dbt.cli(["source", "freshness"], target_path=target, raise_on_error=False).wait()
    state = state_dir(warehouse.path)
    manifest = json.loads(require_manifest().read_text())
    with warehouse.connect() as con:
        missing = missing_relations(con, manifest)
    plan = plan_build(state, missing, forced=full_build_forced(), fresh=fresh.is_successful())
    context.log.info(
        f"dbt builds {'every node' if plan.whole else 'the changed nodes'}: {plan.why}"
    )
    names = output_names(context, manifest)
    # a table kept as it is stays current, and what reads it (mining, publish) must still
    # run: it gets an output marked as not rebuilt, before anything that depends on it
    kept = None if plan.whole else KeptTables(manifest, set(names))
    node_of = {name: uid for uid, name in names.items()}
    for event in dbt.cli(plan.args, context=context, target_path=target).stream():
        if kept is not None and isinstance(event, dg.Output) and event.output_name in node_of:
            yield from unchanged(names, kept.before(node_of[event.output_name]))
        yield event
    if kept is not None:
        yield from unchanged(names, kept.rest())
    ran = selected_count(target)
    context.log.info(
        "dbt ran " + (", ".join(f"{n} {kind}s" for kind, n in sorted(ran.items())) or "nothing")
    )
    if fresh.is_successful():
        save_state(target, state)


def _build_on_spark(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """ACRM_ENGINE=spark: the marts built on Spark from the lake and loaded into the
    warehouse file; DuckDB builds the seeds and what Spark cannot (SPARK_CANNOT_BUILD),
    then runs the marts' data tests on what Spark built, and a failed test fails the step.

    dbt runs here without the step's context: with it, dagster-dbt adds the step's whole
    selection to ours, and DuckDB would rebuild every mart Spark built."""
    work = Path(warehouse.path).parent / "spark"
    report = build_in_subprocess(Path(warehouse.path), work, context.log.info)
    with warehouse.connect() as con:
        load_marts(con, work / "marts", report["marts"])
    context.log.info(
        f"Spark built {len(report['marts'])} marts in {report['seconds']} s; DuckDB builds "
        + ", ".join(SPARK_CANNOT_BUILD)
    )
    on_duckdb = " ".join(["resource_type:seed", *(f"+{name}" for name in SPARK_CANNOT_BUILD)])
    dbt.cli(["build", "--select", on_duckdb, "--exclude", "test_type:unit"]).wait()
    tested = " ".join(["test_type:unit", *SPARK_CANNOT_BUILD])
    dbt.cli(["test", "--select", "path:models/marts", "--exclude", tested]).wait()
    context.log.info("the marts Spark built pass their data tests on DuckDB")
    manifest = json.loads(require_manifest().read_text())
    names = output_names(context, manifest)
    for unique_id in in_dependency_order(manifest, names):  # Dagster requires this order
        engine = "duckdb" if unique_id.split(".")[-1] in SPARK_CANNOT_BUILD else "spark"
        yield dg.Output(None, output_name=names[unique_id], metadata={"engine": engine})


def in_dependency_order(manifest: dict, nodes) -> list[str]:
    """The nodes, each after every node it reads (the manifest's parent map)."""
    graph = {uid: manifest["parent_map"].get(uid, []) for uid in manifest["parent_map"]}
    wanted = set(nodes)
    return [uid for uid in TopologicalSorter(graph).static_order() if uid in wanted]


def output_names(context: dg.AssetExecutionContext, manifest: dict) -> dict[str, str]:
    """The dbt nodes with an output selected in this step: unique id -> output name."""
    selected = context.op_execution_context.selected_output_names
    names = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in BUILT:
            continue
        key = translator.get_asset_key(node)
        if key in context.assets_def.keys:
            name = context.assets_def.get_output_name_for_asset_key(key)
            if name in selected:
                names[unique_id] = name
    return names


def unchanged(names: dict[str, str], kept: list[str]):
    for unique_id in kept:
        yield dg.Output(None, output_name=names[unique_id], metadata=UNCHANGED)
