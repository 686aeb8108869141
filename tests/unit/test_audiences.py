"""Audiences on a hand-built, published warehouse: chosen as independent SQL chooses them,
a holdout that is random yet the same for a build, identical CRM rows when written twice,
and bad input named."""

import sqlite3

import duckdb
import pytest

from core.settings import Settings
from cubes.audiences import AudienceError, Rule, select, write_crm, write_files
from pipelines.publish.publisher import publish

WAREHOUSE = """
create schema marts;
create schema mining;
create table marts.dim_customers as
    select i as customer_key, case when i % 3 = 0 then 'Corporate' else 'Retail' end as segment
    from range(1, 601) as r(i)
    union all select -1, 'Unknown';
create table mining.customer_churn as
    select i as customer_key, (i % 100) / 100.0 as churn_probability from range(1, 601) as r(i);
create table mining.customer_uplift as
    select i as customer_key, 7 as campaign_key, (i % 10) / 100.0 as uplift
    from range(1, 601) as r(i);
create table mining.customer_personas as
    select i as customer_key, case when i % 2 = 0 then 'Seniors' else 'Young' end as persona
    from range(1, 601) as r(i);
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("audiences")
    warehouse = folder / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(WAREHOUSE)
    settings = Settings.load(warehouse)
    publish(warehouse, settings.published)
    with duckdb.connect(str(settings.published), read_only=True) as con:
        yield con


RULE = Rule(("customer.segment=Retail", "customer.persona!=Seniors"),
            ("churn_probability>0.6",), holdout=0.2)  # fmt: skip


def test_members_are_who_independent_sql_chooses(published) -> None:
    members, about = select(published, "churn-risk", RULE)
    expected = published.execute(
        "select c.customer_key from marts.dim_customers c join mining.customer_churn k "
        "using (customer_key) join mining.customer_personas p using (customer_key) "
        "where c.segment = 'Retail' and p.persona <> 'Seniors' and k.churn_probability > 0.6 "
        "order by 1"
    ).fetchall()
    assert list(members["customer_id"]) == [k for (k,) in expected]
    assert list(members.columns) == ["customer_id", "churn_probability", "group"]
    holdout = (members["group"] == "holdout").sum()
    assert about["size"] == len(members) and about["holdout_size"] == holdout
    # a 20% holdout drawn at random: within three standard errors of 20%
    n = len(members)
    assert abs(holdout / n - 0.2) < 3 * (0.2 * 0.8 / n) ** 0.5
    again, _ = select(published, "churn-risk", RULE)
    assert again.equals(members)
    other, _ = select(published, "another", RULE)
    assert not other["group"].equals(members["group"])  # each audience its own draw


def test_written_twice_the_crm_rows_are_identical(published, tmp_path) -> None:
    crm = tmp_path / "crm.sqlite"
    sqlite3.connect(crm).close()
    members, about = select(published, "churn-risk", RULE)
    first_members, first_about = select(published, "first", Rule(("customer.segment=Corporate",)))
    write_crm(f"sqlite://{crm}", first_members, first_about)

    def rows() -> list[tuple]:
        with sqlite3.connect(crm) as con:
            return con.execute("select * from acrm_audience_members order by 1, 2").fetchall()

    write_crm(f"sqlite://{crm}", members, about)
    once = rows()
    write_crm(f"sqlite://{crm}", members, about)
    assert rows() == once
    by_audience = {a: sum(1 for r in once if r[0] == a) for a in ("first", "churn-risk")}
    assert by_audience == {"first": len(first_members), "churn-risk": len(members)}
    assert {r[2] for r in once} == {"treatment", "holdout"}
    files = write_files(tmp_path / "audiences", members, about)
    assert [p.suffix for p in files] == [".csv", ".parquet", ".json"]
    assert "email" not in files[0].read_text().splitlines()[0]  # ids only


def test_bad_input_names_the_bad_part(published) -> None:
    cases = [
        (Rule((), ("revenue_per_day>3",)), "unknown score 'revenue_per_day'"),
        (Rule((), ("uplift:win-back>0.1",)), "write uplift:<campaign key>"),
        (Rule(("customer.shoe_size=42",)), "filter 'customer.shoe_size=42'"),
        (Rule((), (), holdout=0.6), "--holdout 60%: keep at most 50%"),
        (Rule((), ("clv>100",)), "mining.customer_clv is not built"),
    ]
    for rule, message in cases:
        with pytest.raises(AudienceError, match=message):
            select(published, "x", rule)
    with pytest.raises(AudienceError, match="audience name 'no/slash'"):
        select(published, "no/slash", Rule())
    with pytest.raises(AudienceError, match="not a database ACRM can write to"):
        write_crm("csv:///some/folder", *select(published, "x", Rule()))


def test_an_audience_by_predicted_uplift(published) -> None:
    members, _ = select(published, "persuadable", Rule((), ("uplift:7>0.05",)))
    expected = published.execute(
        "select customer_key from mining.customer_uplift where campaign_key = 7 "
        "and uplift > 0.05 order by 1"
    ).fetchall()
    assert list(members["customer_id"]) == [k for (k,) in expected]
    assert list(members.columns) == ["customer_id", "uplift_7", "group"]


def test_the_http_api_writes_an_audience_only_with_a_token(tmp_path, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from core.settings import ServeSettings
    from serving.api import TOKEN_ENV, create_app

    warehouse = tmp_path / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(WAREHOUSE)
    sources = tmp_path / "sources"
    (sources / "crm").mkdir(parents=True)
    sqlite3.connect(sources / "crm" / "crm.sqlite").close()
    monkeypatch.delenv("ACRM_CRM_URL", raising=False)
    settings = Settings.load(warehouse, sources)
    publish(warehouse, settings.published)
    body = {"name": "api-risk", "filters": ["churn_probability>0.9"], "holdout": 0.1}
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    open_app = TestClient(create_app(settings, allowed_hosts=("testserver",)))
    assert open_app.post("/api/audiences", json=body).status_code == 403
    monkeypatch.setenv(TOKEN_ENV, "s3cret")
    app = TestClient(create_app(settings, ServeSettings.load(), allowed_hosts=("testserver",)))
    assert app.post("/api/audiences", json=body).status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    # a query first, so the pool holds connections: the audience must use them, not its own
    assert app.get("/api/freshness", headers=auth).status_code == 200
    made = app.post("/api/audiences", json=body, headers=auth)
    assert made.status_code == 200
    with sqlite3.connect(sources / "crm" / "crm.sqlite") as con:
        rows = con.execute("select count(*) from acrm_audience_members").fetchall()[0][0]
    assert rows == made.json()["size"] == made.json()["crm_rows"] > 0
    listed = app.get("/api/audiences", headers=auth).json()
    assert [a["audience"] for a in listed] == ["api-risk"]
    bad = app.post("/api/audiences", json=body | {"holdout": 0.7}, headers=auth)
    assert bad.status_code == 400 and "keep at most 50%" in bad.json()["detail"]
