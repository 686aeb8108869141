"""The campaign uplift's interval: the same hand-computed Agresti-Caffo bounds from the
DuckDB engine's SQL, the frame engine and the dbt macro's text."""

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cubes import ACRM_CUBE
from cubes.duckdb_engine import _measure_sql
from cubes.frame_engine import evaluate

# 4 treated with 2 responders, 2 in the holdout with none
PARTS = {"treated_responders": 2, "treated_members": 4, "holdout_responders": 0,
         "holdout_members": 2}  # fmt: skip
P1, P0 = 3 / 6, 1 / 4  # one response and one non-response added to each group
SPREAD = 1.959963984540054 * math.sqrt(P1 * (1 - P1) / 6 + P0 * (1 - P0) / 4)
EXPECTED = {"campaign_uplift_low": P1 - P0 - SPREAD, "campaign_uplift_high": P1 - P0 + SPREAD}
MACRO = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "uplift.sql"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_both_engines_give_the_hand_computed_bound(name: str) -> None:
    sql = _measure_sql(ACRM_CUBE, name, lambda part: str(PARTS[part]))
    assert duckdb.execute(f"select {sql}").fetchall()[0][0] == pytest.approx(EXPECTED[name])
    frame = pd.DataFrame({k: [v] for k, v in PARTS.items()})
    assert evaluate(ACRM_CUBE, name, frame).iloc[0] == pytest.approx(EXPECTED[name])
    uplift = evaluate(ACRM_CUBE, "campaign_uplift", frame).iloc[0]
    assert uplift == pytest.approx(2 / 4 - 0 / 2)  # the point estimate is the raw difference


def test_the_dbt_macro_computes_the_same_bounds() -> None:
    import jinja2

    for name, side in (("campaign_uplift_low", -1), ("campaign_uplift_high", 1)):
        call = f"{{{{ uplift_bound('2', '4', '0', '2', {side}) }}}}"
        template = jinja2.Template(MACRO.read_text() + call)
        sql = template.render(type_double=lambda: "double").strip()  # dbt's dispatch, DuckDB
        assert duckdb.execute(f"select {sql}").fetchall()[0][0] == pytest.approx(EXPECTED[name])


def test_every_uplift_bound_reads_two_ratios_of_counts() -> None:
    from cubes.model import Aggregate, Ratio, UpliftBound

    bounds = [m for m in ACRM_CUBE.measures if isinstance(m, UpliftBound)]
    assert bounds
    for bound in bounds:
        for name in (bound.treated, bound.holdout):
            rate = ACRM_CUBE.measure(name)
            assert isinstance(rate, Ratio), (bound.name, name)
            parts = [ACRM_CUBE.measure(p) for p in rate.parts()]
            assert all(isinstance(p, Aggregate) and p.integer for p in parts), (bound.name, name)
