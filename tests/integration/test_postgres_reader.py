"""The cube and the HTTP API reading the PostgreSQL publication (ACRM_PUBLISHED) give the
same answers as on the DuckDB copy: the planted truths of the cube engine and the API's
tests run again with PostgreSQL answering (test_postgres_access.py: the access policies'),
and the conformance queries and what-ifs on a generated warehouse compared engine to
engine."""

import inspect
import math
import shutil
import uuid

import duckdb
import pytest
from fastapi.testclient import TestClient

from core.settings import ServeSettings, Settings
from cubes import ACRM_CUBE, CubeSession, DuckDBEngine, build_query
from cubes.conformance import conformance_queries, differences
from cubes.postgres_engine import PostgresEngine, to_postgres
from pipelines.publish.postgresql import publish_postgresql
from pipelines.publish.publisher import publish
from serving.api import TOKEN_ENV, create_app
from serving.pool import EnginePool
from tests.postgres_server import psql
from tests.unit import test_cube_engine as planted
from tests.unit.test_serving_api import (  # noqa: F401  (the same tests, PostgreSQL answering)
    client,
    test_a_query_answers_what_the_cube_answers,
    test_bad_requests_get_a_4xx_that_names_the_bad_part,
    test_catalogue_members_and_freshness,
    test_csv_export_has_a_header_and_every_row,
    test_drill_down_echoes_the_query_it_became,
    test_malformed_bodies_and_hostile_values_are_never_a_500,
    test_totals_filters_and_post_give_the_same_semantics,
)

PLANTED = [
    f
    for name, f in vars(planted).items()
    if name.startswith("test_") and list(inspect.signature(f).parameters) == ["session"]
]


def _database(postgres, name: str) -> str:
    """A new database on the session's server (a unique name: modules share the server)."""
    url, port = postgres
    name = f"{name}_{uuid.uuid4().hex[:8]}"
    psql(port, f"create database {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def star_url(postgres, tmp_path_factory) -> tuple[str, Settings]:
    """The hand-built star of the cube engine's tests, published to DuckDB and PostgreSQL."""
    warehouse = tmp_path_factory.mktemp("pg-star") / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(planted.STAR)
    settings = Settings.load(warehouse)
    publish(warehouse, settings.published)
    url = _database(postgres, "star")
    publish_postgresql(settings.published, url)
    return url, settings


@pytest.fixture
def settings(star_url, monkeypatch) -> Settings:
    """What test_serving_api and test_access serve from, read from PostgreSQL."""
    url, settings = star_url
    monkeypatch.setenv("ACRM_PUBLISHED", url)
    return settings


@pytest.fixture
def session(star_url) -> CubeSession:
    return CubeSession(star_url[0])


@pytest.mark.parametrize("case", PLANTED, ids=lambda f: f.__name__)
def test_planted_truths_hold_when_postgresql_answers(case, session: CubeSession) -> None:
    assert isinstance(session.engine, PostgresEngine)
    case(session)


def _same(a, b, rel: float = 1e-9) -> bool:  # the saturating fit too: its weeks are rounded
    """Equal JSON answers, numbers to a relative `rel`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=rel)
        )
    return a == b


@pytest.fixture(scope="module")
def generated(postgres, built_warehouse, tmp_path_factory):
    """(Settings of a copy of the generated publication, DuckDB's engine on it, PostgreSQL's
    on the same build). A copy: DuckDB keeps one configuration per open file in a process,
    and the shared test warehouse is opened by other modules with their own."""
    settings = Settings.load(tmp_path_factory.mktemp("pg-generated") / "acrm.duckdb")
    settings.published.parent.mkdir(parents=True)
    shutil.copy(built_warehouse.published, settings.published)
    url = _database(postgres, "generated")
    publish_postgresql(settings.published, url)
    bounds = EnginePool(ACRM_CUBE, settings.published, ServeSettings()).bounds
    duck = DuckDBEngine(ACRM_CUBE, settings.published, bounds=bounds)  # as the API's
    return settings, duck, PostgresEngine(ACRM_CUBE, url)


@pytest.mark.parametrize("index", range(len(conformance_queries(ACRM_CUBE))))
def test_conformance_queries_agree_in_values_and_types(generated, index: int) -> None:
    _, duck, pg = generated
    query = conformance_queries(ACRM_CUBE)[index]
    expected, found = duck.query(query), pg.query(query)
    assert expected.num_rows > 0
    assert differences(query, expected, found, tolerance=1e-9) == []
    assert found.schema == expected.schema


def test_what_ifs_and_members_agree_over_http(generated, monkeypatch) -> None:
    settings, _, pg_engine = generated
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    duck_app = TestClient(create_app(settings, allowed_hosts=("testserver",)))
    monkeypatch.setenv("ACRM_PUBLISHED", pg_engine.url)
    pg_app = TestClient(create_app(settings, allowed_hosts=("testserver",)))
    manager = duck_app.get("/api/members", params={"level": "manager.manager"}).json()
    requests = [
        ("/api/members", {"level": level})
        for level in ("manager.manager", "customer.segment", "date.month", "product.product")
    ] + [
        ("/api/whatif/funnel", {"manager": manager["members"][-1], "stage": "Proposal",
                                "to": "peers"}),
        ("/api/whatif/budget", {"move": 0.2, "from": "Paid Search",
                                "to": "Email", "model": "saturating"}),
        ("/api/query", {"measures": "revenue,revenue:yoy_growth,revenue:ytd,win_rate",
                        "rows": "date.quarter", "cols": "manager.team", "totals": "true"}),
        ("/api/query", {"measures": "revenue,avg_check", "rows": "product.product",
                        "top": "5:revenue", "format": "csv"}),
    ]  # fmt: skip
    for path, params in requests:
        duck, pg = duck_app.get(path, params=params), pg_app.get(path, params=params)
        assert (duck.status_code, pg.status_code) == (200, 200), (path, pg.text)
        if params.get("format") == "csv":
            assert pg.text == duck.text
        else:
            assert _same(pg.json(), duck.json()), (path, params)


def test_a_new_build_is_seen_and_the_cache_emptied(postgres, star_url, tmp_path) -> None:
    url, settings = star_url
    engine = PostgresEngine(ACRM_CUBE, url)
    query = build_query(ACRM_CUBE, ["revenue"], [])
    assert engine.query(query).column("revenue").to_pylist() == [525.0]
    warehouse = tmp_path / "acrm.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.fct_orders set revenue = revenue * 2").fetchall()
    published = Settings.load(warehouse).published
    publish(warehouse, published)
    publish_postgresql(published, url)
    assert engine.query(query).column("revenue").to_pylist() == [1050.0]
    publish_postgresql(settings.published, url)  # the star as it was, for the other tests


def test_without_a_publication_or_a_server_the_api_says_what_to_do(
    postgres, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    settings = Settings.load(tmp_path / "acrm.duckdb")
    empty = _database(postgres, "empty")
    for url, message in (
        (empty, "acrm publish --to"),
        ("postgresql://reader:s3cret@127.0.0.1:1/nowhere", "cannot connect"),
    ):
        monkeypatch.setenv("ACRM_PUBLISHED", url)
        app = TestClient(create_app(settings, ServeSettings(), allowed_hosts=("testserver",)))
        answer = app.get("/api/query", params={"measures": "revenue"})
        assert answer.status_code == 503, answer.text
        assert message in answer.json()["detail"] and "s3cret" not in answer.text
    monkeypatch.setenv("ACRM_PUBLISHED", "mysql://somewhere/db")
    with pytest.raises(ValueError, match="ACRM_PUBLISHED='mysql://somewhere/db' is not a Postg"):
        create_app(settings)


def test_full_joins_on_nulls_become_hashable_and_percents_survive_parameters() -> None:
    sql = to_postgres(
        "select * from q0 full join q1 on q0.a is not distinct from q1.a "
        "where q0.b like 'x%' and q0.c = $p0",
        parameters=True,
    )
    assert "IS NOT DISTINCT FROM" not in sql
    assert (
        "COALESCE('v' || CAST(q0.a AS TEXT), 'n') = COALESCE('v' || CAST(q1.a AS TEXT), 'n')" in sql
    )
    assert "'x%%'" in sql and "%(p0)s" in sql
