"""The server as an attacker and a careless client meet it: the token on every route, the
five inputs that were 500s, limits with a 4xx naming them, headers, the Host check and
small-cell suppression (on the hand-built star of test_cube_engine)."""

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient

from core.settings import ServeSettings, Settings
from cubes import ACRM_CUBE as CUBE
from cubes.duckdb_engine import Bounds, DuckDBEngine, ResultCache
from cubes.query import TooSlowError
from serving.api import create_app
from tests.unit.test_serving_api import settings  # noqa: F401  (the published star)

HOSTS = ("testserver",)


def client_of(settings: Settings, **limits) -> TestClient:  # noqa: F811
    serve = ServeSettings(**limits)
    app = create_app(settings, serve, allowed_hosts=HOSTS)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings) -> TestClient:  # noqa: F811
    return client_of(settings)


@pytest.mark.parametrize(
    "params",
    [
        {"measures": "revenue", "rows": "manager.team", "top": "²:revenue"},
        {"measures": "revenue", "rows": "manager.team", "top": "9223372036854775808:revenue"},
        {"measures": "revenue:"},
    ],
)
def test_the_inputs_that_were_500s_get_a_400(client: TestClient, params: dict) -> None:
    response = client.get("/api/query", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]


def test_a_lone_surrogate_and_a_non_ascii_token_get_a_4xx(settings: Settings) -> None:  # noqa: F811
    body = '{"measures": ["revenue"], "filters": ["manager.team=\\ud800"]}'
    response = client_of(settings).post("/api/query", content=body)
    assert 400 <= response.status_code < 500 and response.json()["detail"]
    guarded = client_of(settings, token="s3cret")
    odd = guarded.get(
        "/api/levels", headers={"Authorization": "Bearer s3cr\xe9t".encode("latin-1")}
    )
    assert odd.status_code == 401


def test_with_a_token_every_route_but_health_and_the_page_needs_it(settings: Settings) -> None:  # noqa: F811
    client = client_of(settings, token="s3cret")
    for path in ("/api/levels", "/api/measures", "/api/freshness", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 401, path
    assert client.get("/api/query", params={"measures": "revenue"}).status_code == 401
    report = client.get("/report")
    assert report.status_code == 401 and report.headers["www-authenticate"].startswith("Basic")
    for path in ("/health", "/", "/static/pivot.js"):
        assert client.get(path).status_code == 200, path
    basic = base64.b64encode(b"anyone:s3cret").decode()
    assert client.get("/api/levels", headers={"Authorization": f"Basic {basic}"}).is_success
    assert client.get("/openapi.json", headers={"Authorization": "Bearer s3cret"}).is_success


def test_headers_say_no_framing_no_sniffing_no_caching_of_data(client: TestClient) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/api/levels").headers["cache-control"] == "no-store"
    assert "cache-control" not in page.headers


def test_a_foreign_host_name_is_refused(client: TestClient) -> None:
    rebound = client.get("/api/levels", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and "--allowed-host" in rebound.json()["detail"]
    assert client.get("/health", headers={"Host": "127.0.0.1:8765"}).status_code == 200


def test_a_body_over_the_limit_gets_413(settings: Settings) -> None:  # noqa: F811
    client = client_of(settings, max_body_bytes=200)
    big = json.dumps({"measures": ["revenue"], "filters": ["manager.team=" + "x" * 500]})
    response = client.post("/api/query", content=big)
    assert response.status_code == 413 and "ACRM_SERVE_MAX_BODY_BYTES" in response.json()["detail"]

    def chunks():  # no Content-Length: the body is counted as it comes
        yield big[:100].encode()
        yield big[100:].encode()

    chunked = client.post("/api/query", content=chunks())
    assert chunked.status_code == 413


def test_limits_on_cells_and_filters_name_their_setting(settings: Settings) -> None:  # noqa: F811
    client = client_of(settings, max_cells=4, max_filters=1, max_filter_values=2)
    wide = client.get("/api/query", params={"measures": "revenue", "rows": "manager.manager"})
    assert wide.status_code == 413 and "ACRM_SERVE_MAX_CELLS" in wide.json()["detail"]
    filters = ["manager.team=North", "channel.channel=Email"]
    many = client.post("/api/query", json={"measures": ["revenue"], "filters": filters})
    assert many.status_code == 400 and "ACRM_SERVE_MAX_FILTERS" in many.json()["detail"]
    values = client.post(
        "/api/query", json={"measures": ["revenue"], "filters": ["manager.team=A,B,C"]}
    )
    assert values.status_code == 400 and "ACRM_SERVE_MAX_FILTER_VALUES" in values.text


def test_a_method_a_path_does_not_serve_gets_405_with_every_allowed_one(
    client: TestClient,
) -> None:
    response = client.put("/api/query")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_cells_of_fewer_customers_than_k_hide_their_measures(settings: Settings) -> None:  # noqa: F811
    params = {"measures": "revenue,orders", "rows": "customer.city", "totals": "true"}
    shown = client_of(settings, min_cell_customers=1).get("/api/query", params=params).json()
    hidden = client_of(settings, min_cell_customers=2).get("/api/query", params=params).json()
    assert shown["suppressed"] is False and hidden["suppressed"] is True
    by_city = {r["customer.city"]: r for r in hidden["records"]}
    assert by_city["Moscow"]["revenue"] is None and by_city["Moscow"]["_suppressed"]
    assert by_city["Kazan"]["orders"] is None
    total = by_city[None]  # two customers: the grand total stays, exact
    assert not total["_suppressed"] and total["revenue"] == 525.0 and total["orders"] == 6
    plain = client_of(settings, min_cell_customers=2).get(
        "/api/query", params={"measures": "revenue", "rows": "manager.team"}
    )
    assert "_suppressed" not in plain.json()["records"][0]  # no customer level: no counting
    csv = client_of(settings, min_cell_customers=2).get(
        "/api/query", params={**params, "format": "csv"}
    )
    assert "_suppressed" in csv.text.splitlines()[0]


def test_a_statement_over_its_time_is_interrupted(settings: Settings) -> None:  # noqa: F811
    engine = DuckDBEngine(CUBE, settings.published, bounds=Bounds("2GB", 2, statement_seconds=0.2))
    started = time.monotonic()
    with pytest.raises(TooSlowError, match="ACRM_SERVE_TIMEOUT"):
        engine._run(
            engine._connection(), "select count(*) from range(10000000000) t(i) where i % 7 = 3"
        )
    assert time.monotonic() - started < 10
    assert engine._run(engine._connection(), "select 1").num_rows == 1  # the connection lives


def test_the_result_cache_is_bounded_in_bytes() -> None:
    import pyarrow as pa

    cache = ResultCache(capacity=100, max_bytes=10_000)
    for i in range(10):
        cache.put((i,), pa.table({"x": list(range(500))}))  # ~4 kB each
    assert cache.bytes <= 10_000 and cache.get((9,)) is not None and cache.get((0,)) is None
    cache.put(("huge",), pa.table({"x": list(range(5_000))}))
    assert cache.get(("huge",)) is None  # bigger than the cache: not kept
