"""The HTTP API on the hand-built star schema of test_cube_engine, published as the pipeline
publishes: the same answers as the cube, and a clear 4xx (never a 500) for bad input."""

import csv
import io
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from pipelines.publish.publisher import publish
from serving.api import TOKEN_ENV, create_app
from tests.unit.test_cube_engine import STAR


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("api")
    warehouse = folder / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(STAR)
    publish(warehouse, Settings.load(warehouse).published)
    return Settings.load(warehouse)


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return TestClient(
        create_app(settings, allowed_hosts=("testserver",)), raise_server_exceptions=False
    )


def test_a_query_answers_what_the_cube_answers(client: TestClient) -> None:
    response = client.get(
        "/api/query", params={"measures": "revenue,orders", "rows": "manager.team"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == ["manager.team", "revenue", "orders"]
    assert {r["manager.team"]: (r["revenue"], r["orders"]) for r in body["records"]} == {
        "North": (200.0, 4),
        "South": (300.0, 1),
        "(none)": (25.0, 1),
    }
    assert body["formats"] == {"revenue": "{:,.0f}", "orders": "{:,.0f}"}


def test_totals_filters_and_post_give_the_same_semantics(client: TestClient) -> None:
    body = {
        "measures": ["win_rate"],
        "rows": ["manager.manager"],
        "filters": ["manager.team=North,South"],
        "totals": True,
    }
    posted = client.post("/api/query", json=body).json()
    got = client.get(
        "/api/query",
        params={
            "measures": "win_rate",
            "rows": "manager.manager",
            "filter": "manager.team=North,South",
            "totals": "true",
        },
    ).json()
    assert posted == got
    grand = [r for r in got["records"] if r["_grouping"] == 1]
    assert grand[0]["win_rate"] == pytest.approx(2 / 6)  # a ratio of sums, not of averages


def test_drill_down_echoes_the_query_it_became(client: TestClient) -> None:
    body = client.get(
        "/api/query",
        params={"measures": "revenue", "rows": "manager.team", "drill_down": "manager.team=North"},
    ).json()
    assert body["query"]["rows"] == ["manager.manager"]
    assert body["query"]["filters"] == ["manager.team=North"]
    assert sum(r["revenue"] for r in body["records"]) == 200.0
    up = client.get(
        "/api/query",
        params={
            "measures": "revenue",
            "rows": "manager.manager",
            "filter": "manager.team=North",
            "drill_up": "manager.manager",
        },
    ).json()
    assert up["query"]["rows"] == ["manager.team"] and up["query"]["filters"] == []


def test_csv_export_has_a_header_and_every_row(client: TestClient) -> None:
    response = client.get(
        "/api/query", params={"measures": "revenue", "rows": "manager.team", "format": "csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["manager.team"]: float(r["revenue"]) for r in table}["South"] == 300.0


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"measures": "revenu"}, 400, "unknown measure 'revenu'. Did you mean revenue?"),
        ({"measures": "revenue", "rows": "manager.tem"}, 400, "unknown level 'manager.tem'"),
        ({"measures": "revenue", "filter": "manager.team"}, 400, "malformed filter"),
        ({"measures": "revenue", "filter": "date.day=yesterday"}, 400, "not a valid date"),
        ({"measures": "revenue", "top": "x:revenue"}, 400, "write N:MEASURE"),
        ({"measures": "revenue", "top": "2:revenue", "bottom": "2:revenue"}, 400, "not both"),
        ({"measures": "revenue", "drill_down": "manager.team"}, 400, "write LEVEL=MEMBER"),
        ({"measures": "revenue", "drill_up": "manager.team"}, 400, "not on rows or columns"),
        ({"measures": ""}, 400, "measure"),
        ({"rows": "manager.team"}, 422, "measures"),
        ({"measures": "revenue", "format": "xml"}, 422, "format"),
        ({"measures": "revenue", "totals": "maybe"}, 422, "totals"),
    ],
)
def test_bad_requests_get_a_4xx_that_names_the_bad_part(
    client: TestClient, params: dict, status: int, message: str
) -> None:
    response = client.get("/api/query", params=params)
    assert response.status_code == status
    assert message in str(response.json()["detail"])


def test_malformed_bodies_and_hostile_values_are_never_a_500(client: TestClient) -> None:
    for body in (
        "not json",
        {"measures": "revenue"},
        {"measures": []},
        {"measures": ["revenue"], "filters": "manager.team=North"},
        {"measures": ["revenue"], "rows": [None]},
        {"measures": ["revenue'); drop table marts.fct_orders; --"]},
    ):
        kwargs = {"content": body} if isinstance(body, str) else {"json": body}
        response = client.post("/api/query", **kwargs)
        assert 400 <= response.status_code < 500, (body, response.text)
    hostile = client.post(
        "/api/query",
        json={"measures": ["revenue"], "filters": ["manager.team=North') or 1=1 --"]},
    )
    assert hostile.status_code == 200  # a bound value: no such team, so no revenue
    assert hostile.json()["records"] == [{"_grouping": 0, "revenue": None}]


def test_catalogue_members_and_freshness(client: TestClient, settings: Settings) -> None:
    levels = {row["level"]: row for row in client.get("/api/levels").json()}
    assert levels["manager.team"]["finer"] == "manager.manager"
    assert levels["manager.manager"]["coarser"] == "manager.team"
    measures = client.get("/api/measures").json()
    assert "win_rate" in {m["measure"] for m in measures["measures"]}
    assert "growth" in measures["time_functions"]
    members = client.get("/api/members", params={"level": "manager.team"}).json()
    assert set(members["members"]) >= {"North", "South"}
    assert client.get("/api/members", params={"level": "nope"}).status_code == 400
    fresh = client.get("/api/freshness").json()
    assert fresh["tables"]["marts.fct_orders"] == 7
    assert fresh["age_seconds"] >= 0
    schema = client.get("/openapi.json").json()
    assert {"/api/query", "/api/levels", "/api/measures", "/api/freshness"} <= set(schema["paths"])


def test_a_token_is_required_when_one_is_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s3cret")
    client = TestClient(create_app(settings, allowed_hosts=("testserver",)))
    params = {"measures": "revenue"}
    denied = client.get("/api/query", params=params)
    assert denied.status_code == 401 and TOKEN_ENV in denied.json()["detail"]
    wrong = client.get("/api/query", params=params, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.get("/api/query", params=params, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get("/").status_code == 200  # the page itself asks for the token


def test_without_a_publication_the_api_says_what_to_run(tmp_path: Path) -> None:
    client = TestClient(
        create_app(Settings.load(tmp_path / "acrm.duckdb"), allowed_hosts=("testserver",))
    )
    response = client.get("/api/query", params={"measures": "revenue"})
    assert response.status_code == 503 and "acrm run" in response.json()["detail"]
    assert str(tmp_path) not in response.json()["detail"]  # named relative to the warehouse
    assert client.get("/api/freshness").status_code == 503
    assert client.get("/report").status_code == 404
