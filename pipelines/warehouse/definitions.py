import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.warehouse.assets import warehouse_models
from pipelines.warehouse.project import DBT_EXECUTABLE, dbt_project

defs = dg.Definitions(
    assets=[warehouse_models],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
