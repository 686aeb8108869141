"""Every dbt model, seed and test as Dagster assets and checks, linked to the landing assets."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from pipelines.resources import WRITER_POOL, WarehouseResource
from pipelines.warehouse.project import dbt_project, require_manifest


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
    """`dbt build`: seeds, models and their tests, in dependency order.

    dbt's profile reads the warehouse path from ACRM_WAREHOUSE; the resource decides it.
    """
    os.environ["ACRM_WAREHOUSE"] = warehouse.path
    yield from dbt.cli(["build"], context=context).stream()
