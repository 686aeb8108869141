"""`acrm serve` on the built warehouse, over real HTTP, as an attacker and a careless client
meet it: the token on every route, inputs that were 500s, limits, headers, a rebound Host
name, small cells, a slow query beside quick ones, and a schema fuzzer (schemathesis)."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.e2e.servers import free_port, running

ACRM = str(Path(sys.executable).with_name("acrm"))
ST = str(Path(sys.executable).with_name("st"))
TOKEN = "e2e-s3cret"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# every check but "a schema-valid request is accepted": a query can be well-formed and
# still ask what the cube has not (a measure by a level its facts lack); that is a 400
FUZZING = ["--max-examples", "25", "--checks", "all", "--exclude-checks"]
FUZZING += ["positive_data_acceptance", "--workers", "2", "--seed", "42"]
DEMOGRAPHICS = (
    "customer.city,customer.gender,customer.age_band,customer.income_band,customer.education"
)


def serve(built_warehouse, tmp_path_factory, **env: str):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "ACRM_WAREHOUSE": str(built_warehouse.warehouse), **env}
    if "ACRM_API_TOKEN" not in env:
        environment.pop("ACRM_API_TOKEN", None)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    return url, running([ACRM, "serve", "--port", str(port)], environment, f"{url}/health", log)


@pytest.fixture(scope="module")
def guarded(built_warehouse, tmp_path_factory):
    url, server = serve(built_warehouse, tmp_path_factory, ACRM_API_TOKEN=TOKEN)
    with server:
        yield url


@pytest.fixture(scope="module")
def limited(built_warehouse, tmp_path_factory):
    url, server = serve(
        built_warehouse,
        tmp_path_factory,
        ACRM_SERVE_MAX_CELLS="50000",
        ACRM_SERVE_MAX_BODY_BYTES="4096",
        ACRM_MIN_CELL_CUSTOMERS="5",
    )
    with server:
        yield url


def test_every_route_but_health_and_the_page_needs_the_token(guarded: str) -> None:
    closed = ["/api/levels", "/api/measures", "/api/freshness", "/report", "/docs"]
    closed += ["/openapi.json", "/api/members?level=manager.team", "/api/query?measures=revenue"]
    with httpx.Client(base_url=guarded) as http:
        for path in closed:
            assert http.get(path).status_code == 401, path
            assert http.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.post("/api/query", json={"measures": ["revenue"]}).status_code == 401
        for path in ("/health", "/", "/static/pivot.js"):
            assert http.get(path).status_code == 200, path
        assert http.get("/report", headers=BEARER).status_code == 200
        assert http.get("/report", auth=("me", TOKEN)).status_code == 200  # a browser's Basic
        odd = http.get(
            "/api/levels", headers={"Authorization": "Bearer s3cr\xe9t".encode("latin-1")}
        )
        assert odd.status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"measures": "revenue", "rows": "manager.team", "top": "²:revenue"},
        {"measures": "revenue", "rows": "manager.team", "top": "9223372036854775808:revenue"},
        {"measures": "revenue:"},
    ],
)
def test_the_inputs_that_were_500s(limited: str, params: dict) -> None:
    response = httpx.get(f"{limited}/api/query", params=params)
    assert response.status_code == 400 and response.json()["detail"]


def test_a_lone_surrogate_in_a_body_is_a_4xx(limited: str) -> None:
    body = '{"measures": ["revenue"], "filters": ["manager.team=\\ud800"]}'
    response = httpx.post(f"{limited}/api/query", content=body)
    assert 400 <= response.status_code < 500


def test_bodies_and_answers_over_the_limits_get_413(limited: str) -> None:
    big = json.dumps({"measures": ["revenue"], "filters": ["manager.team=" + "x" * 5000]})
    response = httpx.post(f"{limited}/api/query", content=big)
    assert response.status_code == 413 and "ACRM_SERVE_MAX_BODY_BYTES" in response.text
    wide = httpx.get(
        f"{limited}/api/query",
        params={"measures": "page_views", "rows": "date.day,content.page", "cols": "time.hour"},
    )
    assert wide.status_code == 413 and "ACRM_SERVE_MAX_CELLS" in wide.json()["detail"]


def test_headers_on_pages_and_answers(limited: str) -> None:
    page = httpx.get(f"{limited}/")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    api = httpx.get(f"{limited}/api/measures")
    assert api.headers["cache-control"] == "no-store"
    report = httpx.get(f"{limited}/report")
    assert report.headers["cache-control"] == "no-store"
    assert "'sha256-" in report.headers["content-security-policy"]  # the charts' scripts
    docs = httpx.get(f"{limited}/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "http" not in docs.split("<body>")[1]


def test_a_rebound_host_name_gets_no_data(limited: str) -> None:
    rebound = httpx.get(f"{limited}/api/levels", headers={"Host": "evil.example:80"})
    assert rebound.status_code == 400 and "--allowed-host" in rebound.json()["detail"]


def test_small_cells_are_suppressed_and_totals_stay_exact(limited: str, built_warehouse) -> None:
    levels = DEMOGRAPHICS.split(",")
    params = {"measures": "revenue,orders", "rows": DEMOGRAPHICS, "totals": "true"}
    body = httpx.get(f"{limited}/api/query", params=params, timeout=120).json()
    detail = {tuple(r[lv] for lv in levels): r for r in body["records"] if r["_grouping"] == 0}
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        customers = dict(  # independent SQL: the customers behind each cell's orders
            ((city, gender, age, income, education), n)
            for city, gender, age, income, education, n in con.execute(
                "select c.city, c.gender, c.age_band, c.income_band, c.education, "
                "count(distinct o.customer_key) from marts.fct_orders o "
                "join marts.dim_customers c using (customer_key) group by all"
            ).fetchall()
        )
        revenue = con.execute("select sum(revenue) from marts.fct_orders where is_paid").fetchall()[
            0
        ][0]
    assert set(detail) == set(customers)
    hidden = {cell for cell, r in detail.items() if r["_suppressed"]}
    assert hidden == {cell for cell, n in customers.items() if n < 5}
    assert hidden and body["suppressed"]
    assert all(detail[c]["revenue"] is None and detail[c]["orders"] is None for c in hidden)
    assert all(detail[c]["orders"] is not None for c in set(detail) - hidden)
    total = next(r for r in body["records"] if all(r[lv] is None for lv in levels))
    assert not total["_suppressed"] and total["revenue"] == pytest.approx(float(revenue), rel=1e-9)


def test_a_slow_query_does_not_hold_up_the_catalogue(limited: str) -> None:
    heavy = {
        "measures": "page_views,visitors:growth",
        "rows": "date.day,content.page",
        "cols": "time.hour",
        "totals": "true",
    }
    done = threading.Event()
    results: dict = {}

    def run_heavy() -> None:
        with httpx.Client(timeout=300) as http:
            for _ in range(3):  # the answer is over the cell limit; its SQL still runs
                results.setdefault("heavy", []).append(
                    http.get(f"{limited}/api/query", params=heavy).status_code
                )
        done.set()

    worker = threading.Thread(target=run_heavy)
    worker.start()
    answered_during = 0
    with httpx.Client(base_url=limited, timeout=60) as http:
        while not done.is_set():
            levels = http.get("/api/levels")
            members = http.get("/api/members", params={"level": "manager.team"})
            assert levels.status_code == members.status_code == 200
            answered_during += not done.is_set()
    worker.join()
    assert set(results["heavy"]) <= {200, 413}
    assert answered_during >= 1


def test_the_schema_fuzzer_finds_no_5xx_and_nothing_undocumented(
    guarded: str, tmp_path: Path
) -> None:
    schema = tmp_path / "openapi.json"
    schema.write_text(httpx.get(f"{guarded}/openapi.json", headers=BEARER).text)
    for headers in (["-H", f"Authorization: Bearer {TOKEN}"], []):  # with and without it
        started = time.monotonic()
        result = subprocess.run(
            [ST, "run", str(schema), "--url", guarded, *headers, *FUZZING],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert "passed" in result.stdout, (time.monotonic() - started, result.stdout[-2000:])


def test_serving_beyond_loopback_without_a_token_refuses_to_start(built_warehouse) -> None:
    env = {**os.environ, "ACRM_WAREHOUSE": str(built_warehouse.warehouse)}
    env.pop("ACRM_API_TOKEN", None)
    result = subprocess.run(
        [ACRM, "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "ACRM_API_TOKEN" in result.stderr and "--allow-anonymous" in result.stderr
