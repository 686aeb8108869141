"""The conformance suite on the hand-built star: the embedded engine and the frame engine
(pandas pivot_table per fact) agree on every query; the atoti engine too, where it starts."""

from pathlib import Path

import duckdb
import pytest

from cubes import ACRM_CUBE, CubeSession
from cubes.conformance import conformance_queries, differences
from cubes.frame_engine import FrameEngine, PandasBackend
from tests.unit.test_cube_engine import STAR


@pytest.fixture(scope="module")
def star(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conformance") / "star.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(STAR)
    return path


@pytest.mark.parametrize("index", range(len(conformance_queries(ACRM_CUBE))))
def test_the_frame_engine_agrees_with_the_embedded_engine(star: Path, index: int) -> None:
    query = conformance_queries(ACRM_CUBE)[index]
    expected = CubeSession(star).query(query)
    actual = FrameEngine(ACRM_CUBE, star, PandasBackend(ACRM_CUBE, star)).query(query)
    assert expected.num_rows > 0
    assert differences(query, expected, actual) == []


def test_differences_are_reported_by_member_and_measure(star: Path) -> None:
    query = conformance_queries(ACRM_CUBE)[0]
    expected = CubeSession(star).query(query)
    changed = expected.set_column(
        expected.column_names.index("revenue"),
        "revenue",
        [[v + 1 if v is not None else None for v in expected.column("revenue").to_pylist()]],
    )
    found = differences(query, expected, changed)
    assert found and "revenue" in found[0] and "expected" in found[0]


def test_time_functions_stay_with_the_embedded_engine(star: Path) -> None:
    from cubes import QueryError, build_query

    engine = FrameEngine(ACRM_CUBE, star, PandasBackend(ACRM_CUBE, star))
    with pytest.raises(QueryError, match="embedded engine only"):
        engine.query(build_query(ACRM_CUBE, ["revenue:growth"], ["date.month"]))
