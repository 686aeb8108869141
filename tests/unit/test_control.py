"""Control of an audience: treated against holdout on purchase, revenue, retention and
churn, on a hand-built warehouse whose answers are counted by hand."""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from cubes import control

SENT = dt.datetime(2025, 6, 1, 12)
DAY = dt.timedelta(days=1)
Z95 = 1.959963984540054


@pytest.fixture
def con():
    # customers 1-4 treated, 5-8 holdout. Before the send (within 180 days) customers
    # 1, 2, 5, 6, 7 were active. After it: 1 and 2 buy within 30 days (100 and 300),
    # 3 buys on day 60 (retained, no response), 5 buys within 30 days (50), 6 on day 100
    # (too late for retention), 8 within 30 days (70) but its order is cancelled.
    orders = [
        (1, SENT - 10 * DAY, 10.0, True), (1, SENT + 2 * DAY, 100.0, True),
        (2, SENT - 100 * DAY, 10.0, True), (2, SENT + 20 * DAY, 300.0, True),
        (3, SENT - 300 * DAY, 10.0, True), (3, SENT + 60 * DAY, 80.0, True),
        (5, SENT - 5 * DAY, 10.0, True), (5, SENT + 5 * DAY, 50.0, True),
        (6, SENT - 50 * DAY, 10.0, True), (6, SENT + 100 * DAY, 90.0, True),
        (7, SENT - 170 * DAY, 10.0, True),
        (8, SENT + 3 * DAY, 70.0, False),
        (9, SENT + 200 * DAY, 1.0, True),  # not a member: marks the data's end
    ]  # fmt: skip
    db = duckdb.connect()
    db.execute("create schema marts")
    frame = pd.DataFrame(orders, columns=["customer_key", "ordered_at", "revenue", "is_paid"])
    db.register("frame", frame)
    db.execute("create table marts.fct_orders as select * from frame")
    yield db
    db.close()


MEMBERS = pd.DataFrame(
    {"customer_id": [1, 2, 3, 4, 5, 6, 7, 8], "group": ["treatment"] * 4 + ["holdout"] * 4}
)


def test_outcomes_per_member_are_counted_by_hand(con) -> None:
    out = control.member_outcomes(con, MEMBERS, SENT).set_index("customer_id").sort_index()
    assert list(out["purchased"]) == [True, True, False, False, True, False, False, False]
    assert list(out["revenue"]) == [100, 300, 0, 0, 50, 0, 0, 0]
    assert list(out["retained"]) == [True, True, True, False, True, False, False, False]
    assert list(out["was_active"]) == [True, True, False, False, True, True, True, False]
    assert list(out["churned"]) == [False, False, False, False, False, True, True, False]


def test_the_effect_compares_the_groups_with_intervals(con) -> None:
    found = control.effect(con, MEMBERS, SENT)
    assert (found["treated"], found["holdout"]) == (4, 4)
    assert found["purchase"]["treated"] == 0.5 and found["purchase"]["holdout"] == 0.25
    # Agresti-Caffo by hand: p1 = 3/6, p0 = 2/6, each with n + 2 = 6
    p1, p0 = 3 / 6, 2 / 6
    half = Z95 * ((p1 * (1 - p1) + p0 * (1 - p0)) / 6) ** 0.5
    assert found["purchase"]["low"] == pytest.approx(p1 - p0 - half)
    assert found["purchase"]["high"] == pytest.approx(p1 - p0 + half)
    assert found["revenue_per_customer"]["difference"] == pytest.approx(100 - 12.5)
    assert found["retention"]["difference"] == pytest.approx(0.75 - 0.25)
    assert found["churn"]["treated"] == 0 and found["churn"]["holdout"] == pytest.approx(2 / 3)
    assert found["verdict"] == "no effect shown"  # four a side tell nothing for sure


def test_windows_still_open_are_too_early(con) -> None:
    found = control.effect(con, MEMBERS, SENT + 190 * DAY)
    assert found["verdict"] == "too early"
    assert found["purchase"] is None and found["retention"] is None and found["churn"] is None


def test_an_audience_without_holdout_cannot_be_judged(con) -> None:
    found = control.effect(con, MEMBERS.assign(group="treatment"), SENT)
    assert found["verdict"] == "no holdout" and found["holdout"] == 0


def test_a_send_time_with_a_zone_is_compared_in_utc() -> None:
    moscow = dt.timezone(dt.timedelta(hours=3))
    assert control.windows(SENT.replace(tzinfo=moscow))["sent"] == SENT - 3 * dt.timedelta(hours=1)


@pytest.fixture
def warehouse(con, tmp_path):
    """A published warehouse of the hand-built orders, with audience 'winback' of MEMBERS
    sent at SENT."""
    from core.settings import Settings
    from cubes.audiences import folder_of, write_files
    from pipelines.publish.publisher import publish

    warehouse = tmp_path / "acrm.duckdb"
    con.execute(f"attach '{warehouse}' as w")
    con.execute("create schema w.marts")
    con.execute("create table w.marts.fct_orders as select * from marts.fct_orders")
    con.execute("detach w")
    published = Settings.load(warehouse).published
    publish(warehouse, published)
    write_files(folder_of(published), MEMBERS, {"audience": "winback", "created_at": str(SENT)})
    return warehouse


def test_the_cli_shows_an_audiences_effect_and_names_an_unknown_one(warehouse) -> None:
    import json

    from typer.testing import CliRunner

    from acrm.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["audience", "effect", "winback", "--warehouse", str(warehouse)])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["purchase"]["difference"] == pytest.approx(0.25)
    assert found["churn"]["holdout"] == pytest.approx(2 / 3)
    missing = runner.invoke(app, ["audience", "effect", "nope", "--warehouse", str(warehouse)])
    assert missing.exit_code != 0 and "'nope'" in missing.output and "winback" in missing.output


def test_the_report_says_each_audiences_verdict(warehouse) -> None:
    # The report's connection has read the warehouse's path before it judges an audience:
    # a result left open on it must not stop the audience's members being registered.
    from core.settings import Settings
    from cubes.report import _audience_sentences

    published = Settings.load(warehouse).published
    with duckdb.connect(str(published), read_only=True) as reader:
        said = _audience_sentences(reader)
    assert said == ["audience winback: no effect shown (+25.0% purchases)"]
