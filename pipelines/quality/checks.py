"""Great Expectations 1.x suites (expectations/*.json) as blocking Dagster asset checks.

dagster-ge does not support GX 1.x and GX's SQL datasource fails on DuckDB, so each check
reads the rows its asset just landed (the latest batch) into a DataFrame and validates
that. An expectation with meta.severity "error" that fails blocks the downstream assets;
"warning" ones only report. GX is imported here, lazily: it takes seconds to import.
"""

import json
import os
from pathlib import Path

import dagster as dg

from acrm.settings import EXPECTATIONS_DIR
from pipelines.ingest.loader import RAW_SCHEMA
from pipelines.resources import WRITER_POOL, WarehouseResource


def latest_batch(warehouse: WarehouseResource, table: str):  # -> pandas.DataFrame
    with warehouse.connect() as con:
        return con.execute(
            f"select * from {RAW_SCHEMA}.{table} where _batch_id = (select _batch_id from "
            f"{RAW_SCHEMA}.{table} order by _loaded_at desc limit 1)"
        ).df()


def validate(suite_path: Path, frame) -> tuple[bool, bool, list[dict]]:
    """(no error-severity failure, no failure at all, per-expectation results)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    document = json.loads(suite_path.read_text())
    suite = gx.ExpectationSuite(**document)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("landed").add_dataframe_asset(suite_path.stem)
    batch = asset.add_batch_definition_whole_dataframe("latest").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(suite)
    rows = []
    for r in result.results:
        config = r.expectation_config
        rows.append(
            {
                "expectation": config.type,
                "column": config.kwargs.get("column")
                or f"{config.kwargs.get('column_A')} vs {config.kwargs.get('column_B')}",
                "severity": (config.meta or {}).get("severity", "error"),
                "success": bool(r.success),
                "unexpected": r.result.get("unexpected_count"),
            }
        )
    errors_pass = all(r["success"] for r in rows if r["severity"] == "error")
    return errors_pass, all(r["success"] for r in rows), rows


def _markdown(rows: list[dict]) -> str:
    lines = ["| expectation | column | severity | passed | unexpected |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['expectation']} | {r['column']} | {r['severity']} | "
        f"{'yes' if r['success'] else 'NO'} | {r['unexpected'] or 0} |"
        for r in rows
    ]
    return "\n".join(lines)


def suite_check(suite_path: Path) -> dg.AssetChecksDefinition:
    table = suite_path.stem

    @dg.asset_check(
        asset=dg.AssetKey([RAW_SCHEMA, table]),
        name="great_expectations",
        blocking=True,
        pool=WRITER_POOL,
        description=f"Great Expectations suite expectations/{suite_path.name} on the rows "
        "landed by the latest run; error-severity failures block downstream.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        frame = latest_batch(warehouse, table)
        errors_pass, all_pass, rows = validate(suite_path, frame)
        return dg.AssetCheckResult(
            passed=all_pass,
            severity=dg.AssetCheckSeverity.WARN if errors_pass else dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows_validated": len(frame),
                "results": dg.MetadataValue.md(_markdown(rows)),
            },
        )

    return _check


quality_checks = [suite_check(path) for path in sorted(EXPECTATIONS_DIR.glob("*.json"))]
