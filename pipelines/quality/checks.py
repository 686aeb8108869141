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
import pandas as pd

from core.settings import EXPECTATIONS_DIR
from pipelines.ingest.loader import RAW_SCHEMA
from pipelines.resources import WRITER_POOL, WarehouseResource

# Expectations whose result over a table is the sum of their results over its parts. Suites
# made only of these are validated in chunks, so a year-long backfill (14M web events at
# scale 10) never sits in memory as one DataFrame; others are validated in one frame.
CHUNKABLE = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
CHUNK_ROWS = 1_000_000


def suite_columns(document: dict) -> list[str]:
    """The columns a suite's expectations read."""
    names = [
        e["kwargs"][k]
        for e in document["expectations"]
        for k in ("column", "column_A", "column_B")
        if k in e["kwargs"]
    ]
    return list(dict.fromkeys(names))


def latest_batch(warehouse: WarehouseResource, table: str, columns: list[str], chunk_rows: int):
    """The rows the latest run landed, only `columns`, as DataFrames of chunk_rows rows."""
    with warehouse.connect() as con:
        selected = ", ".join(f'"{c}"' for c in columns)
        reader = con.sql(
            f"select {selected} from {RAW_SCHEMA}.{table} where _batch_id = (select _batch_id "
            f"from {RAW_SCHEMA}.{table} order by _loaded_at desc limit 1)"
        ).to_arrow_reader(chunk_rows)
        for batch in reader:
            yield batch.to_pandas()


def landed_rows(warehouse: WarehouseResource, table: str) -> int:
    """Rows in the raw table; 0 when the source has never landed anything."""
    with warehouse.connect() as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and "
            "table_name = ?",
            [RAW_SCHEMA, table],
        ).fetchall()[0][0]
        if not exists:
            return 0
        return con.execute(f"select count(*) from {RAW_SCHEMA}.{table}").fetchall()[0][0]


def validate(suite_path: Path, frames) -> tuple[bool, bool, list[dict]]:
    """(no error-severity failure, no failure at all, per-expectation results).

    `frames` is one DataFrame or an iterable of chunks of the same table: unexpected and
    element counts are summed over the chunks, and `mostly` is judged on the sums.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    document = json.loads(suite_path.read_text())
    suite = gx.ExpectationSuite(**document)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("landed").add_dataframe_asset(suite_path.stem)
    definition = asset.add_batch_definition_whole_dataframe("latest")
    totals: list[dict] = []
    for frame in [frames] if isinstance(frames, pd.DataFrame) else frames:
        result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        for i, r in enumerate(result.results):
            if i == len(totals):
                config = r.expectation_config
                totals.append(
                    {
                        "expectation": config.type,
                        "column": config.kwargs.get("column")
                        or f"{config.kwargs.get('column_A')} vs {config.kwargs.get('column_B')}",
                        "severity": (config.meta or {}).get("severity", "error"),
                        "mostly": config.kwargs.get("mostly"),
                        "success": True,
                        "unexpected": 0,
                        "checked": 0,
                    }
                )
            row = totals[i]
            row["success"] = row["success"] and bool(r.success)
            row["unexpected"] += r.result.get("unexpected_count") or 0
            row["checked"] += (r.result.get("element_count") or 0) - (
                r.result.get("missing_count") or 0
            )
    rows = []
    for row in totals:
        mostly = row.pop("mostly")
        checked = row.pop("checked")
        if mostly is not None and checked:  # judged on the whole table, not chunk by chunk
            row["success"] = (checked - row["unexpected"]) / checked >= mostly
        rows.append(row)
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
        document = json.loads(suite_path.read_text())
        columns = suite_columns(document)
        if not landed_rows(warehouse, table):  # a source this company does not have
            return dg.AssetCheckResult(
                passed=True,
                metadata={"rows_validated": 0, "status": f"no data: raw.{table} is empty"},
                description=f"no data: nothing has been landed into raw.{table}",
            )
        chunkable = all(e["type"] in CHUNKABLE for e in document["expectations"])
        parts = latest_batch(warehouse, table, columns, CHUNK_ROWS)
        counted: list[int] = []

        def counting(frames):
            for frame in frames:
                counted.append(len(frame))
                yield frame
            if not counted:  # nothing landed: the suite still reports each expectation
                counted.append(0)
                yield pd.DataFrame(columns=columns)

        frames = counting(parts)
        if not chunkable:  # one frame: uniqueness is judged over the whole batch
            frames = pd.concat(list(frames), ignore_index=True)
        errors_pass, all_pass, rows = validate(suite_path, frames)
        return dg.AssetCheckResult(
            passed=all_pass,
            severity=dg.AssetCheckSeverity.WARN if errors_pass else dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows_validated": sum(counted),
                "results": dg.MetadataValue.md(_markdown(rows)),
            },
        )

    return _check


quality_checks = [suite_check(path) for path in sorted(EXPECTATIONS_DIR.glob("*.json"))]
