"""The conformance suite on a generated warehouse: the embedded engine against the frame
engine (pandas), and against the atoti engine where an atoti session can start. Offline,
atoti 6.2 cannot reach its license server: that part is skipped with the reason."""

import pytest

from cubes import ACRM_CUBE, CubeSession
from cubes.atoti_engine import AtotiEngine, AtotiUnavailableError
from cubes.conformance import conformance_queries, differences
from cubes.frame_engine import FrameEngine, PandasBackend

QUERIES = conformance_queries(ACRM_CUBE)


@pytest.fixture(scope="module")
def embedded(built_warehouse) -> CubeSession:
    return CubeSession(built_warehouse.published)


@pytest.fixture(scope="module")
def pandas_engine(built_warehouse) -> FrameEngine:
    published = built_warehouse.published
    return FrameEngine(ACRM_CUBE, published, PandasBackend(ACRM_CUBE, published))


@pytest.fixture(scope="module")
def atoti_engine(built_warehouse):
    try:
        engine = AtotiEngine(ACRM_CUBE, built_warehouse.published)
    except AtotiUnavailableError as exc:
        pytest.skip(str(exc))
    yield engine
    engine.close()


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_pandas_frames_agree_with_the_embedded_engine(embedded, pandas_engine, index) -> None:
    query = QUERIES[index]
    expected = embedded.query(query)
    assert expected.num_rows > 0
    assert differences(query, expected, pandas_engine.query(query)) == []


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_atoti_agrees_with_the_embedded_engine(embedded, atoti_engine, index) -> None:
    query = QUERIES[index]
    assert differences(query, embedded.query(query), atoti_engine.query(query)) == []
