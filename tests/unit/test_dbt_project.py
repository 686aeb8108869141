"""The dbt project's declarations agree with the code that depends on them."""

import yaml

from core.settings import DBT_PROJECT_DIR
from cubes.acrm import ACRM_CUBE

SPARK_EXEMPT = "{{ target.type != 'spark' }}"


def test_the_cube_exposure_lists_exactly_the_tables_the_cube_reads() -> None:
    exposures = yaml.safe_load((DBT_PROJECT_DIR / "models" / "exposures.yml").read_text())
    cube = next(e for e in exposures["exposures"] if e["name"] == "acrm_cube")
    declared = {ref.removeprefix("ref('").removesuffix("')") for ref in cube["depends_on"]}
    marts = {t.split(".")[-1] for t in ACRM_CUBE.tables if t.startswith("marts.")}
    assert declared == marts  # mining tables are Dagster assets, not dbt models


# Marts whose columns follow the landed CRM (one per funnel stage): no fixed contract.
CRM_SHAPED = {"rpt_deal_milestones"}


def test_every_mart_enforces_its_contract_and_keys() -> None:
    for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("_*__models.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            if model["name"] in CRM_SHAPED:
                assert "config" not in model and model["columns"][0]["data_tests"] == [
                    "unique",
                    "not_null",
                ]
                continue
            # enforced wherever the types are DuckDB's, i.e. on every target but Spark
            enforced = model["config"]["contract"]["enforced"]
            assert enforced in (True, SPARK_EXEMPT), model["name"]
            columns = model["columns"]
            assert all("data_type" in c for c in columns), model["name"]
            tests = [t for c in columns for t in c.get("data_tests", [])]
            assert "unique" in tests and "not_null" in tests, model["name"]
            for column in columns:
                if column["name"].endswith("_key") and "unique" not in column.get("data_tests", []):
                    kinds = [
                        next(iter(t)) if isinstance(t, dict) else t
                        for t in column.get("data_tests", [])
                    ]
                    assert "relationships" in kinds or model["name"].startswith("dim_"), (
                        model["name"],
                        column["name"],
                    )


def test_the_spark_runs_outputs_come_in_dependency_order() -> None:
    # Dagster refuses a model's output before its inputs' (seen: int_utm_channels first)
    import json

    from pipelines.warehouse.assets import in_dependency_order
    from pipelines.warehouse.project import require_manifest

    manifest = json.loads(require_manifest().read_text())
    models = [uid for uid in manifest["nodes"] if uid.startswith("model.")]
    order = in_dependency_order(manifest, reversed(models))
    assert sorted(order) == sorted(models)
    position = {uid: i for i, uid in enumerate(order)}
    for uid in models:
        for parent in manifest["parent_map"][uid]:
            if parent in position:
                assert position[parent] < position[uid], (parent, uid)
    utm = "model.acrm.int_utm_channels"
    assert position["model.acrm.int_ad_campaigns"] < position[utm]


def test_the_marts_tests_read_only_what_a_spark_run_leaves_in_duckdb() -> None:
    # ACRM_ENGINE=spark tests Spark's marts on DuckDB, where staging and intermediate models
    # exist only if DuckDB ever built them: every test of a mart reads marts, seeds and
    # snapshots only, so a warehouse Spark alone has built passes them too
    import json

    from pipelines.warehouse.project import require_manifest

    manifest = json.loads(require_manifest().read_text())
    nodes = manifest["nodes"]

    def in_marts(uid: str) -> bool:
        return nodes.get(uid, {}).get("original_file_path", "").startswith("models/marts/")

    tests = [n for n in nodes.values() if n["resource_type"] == "test"]
    of_marts = [t for t in tests if any(in_marts(p) for p in t["depends_on"]["nodes"])]
    assert len(of_marts) > 100
    for test in of_marts:
        models = [p for p in test["depends_on"]["nodes"] if p.startswith("model.")]
        assert all(in_marts(p) for p in models), (test["name"], models)
