"""The planted churn driver (low CSAT after a bad service experience) is found by the marts
and by the churn model, ahead of the trait that comes with it (opening a ticket)."""

import duckdb
import pytest

# truth.json names the driver by its feature; the mart names it as a trait
MART_DRIVER = {"csat": "low_csat"}


@pytest.fixture(scope="module")
def published(churn_warehouse):
    settings, _ = churn_warehouse
    with duckdb.connect(str(settings.published), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def driver(churn_warehouse) -> str:
    return churn_warehouse[1]["churn"]["driver"]


def test_the_mart_ranks_the_planted_driver_first_after_adjusting(published, driver) -> None:
    ranked = published.execute(
        "select driver, churn_lift, adjusted_churn_lift from marts.rpt_churn_drivers "
        "order by driver_rank"
    ).fetchall()
    assert ranked[0][0] == MART_DRIVER[driver]
    lifts = {name: (crude, adjusted) for name, crude, adjusted in ranked}
    # adjusting for the planted driver (and tenure) shrinks the companion trait's lift
    assert lifts["service_ticket"][1] < lifts["service_ticket"][0]
    assert lifts[MART_DRIVER[driver]][1] > 1.3


def test_the_mart_adjusted_lift_equals_a_hand_computed_mantel_haenszel(published) -> None:
    customers = published.execute(
        "select coalesce(worst_csat <= 2, false), tickets > 0, calls = 0, web_sessions = 0, "
        "least(floor(days_since_first_order / 91), 8), is_churned "
        "from marts.rpt_customer_churn where days_since_first_order > 180"
    ).fetchall()
    strata: dict[tuple, list[int]] = {}
    for low, ticket, no_calls, no_web, tenure, churned in customers:
        cell = strata.setdefault((ticket, no_calls, no_web, tenure), [0, 0, 0, 0])
        cell[0 if low else 1] += 1
        cell[2 if low else 3] += int(churned)
    top = bottom = 0.0
    for n_with, n_without, churned_with, churned_without in strata.values():
        top += churned_with * n_without / (n_with + n_without)
        bottom += churned_without * n_with / (n_with + n_without)
    adjusted = published.execute(
        "select adjusted_churn_lift from marts.rpt_churn_drivers where driver = 'low_csat'"
    ).fetchall()[0][0]
    assert adjusted == pytest.approx(top / bottom, rel=1e-9)


def test_the_churn_model_puts_the_planted_driver_among_the_top_drivers(published, driver) -> None:
    drivers = published.execute(
        "select feature, coefficient, auc from mining.churn_drivers order by weight desc"
    ).fetchall()
    raising = [feature for feature, coefficient, _ in drivers if coefficient > 0]
    assert driver in raising[:3]
    coefficient = {feature: value for feature, value, _ in drivers}
    assert coefficient[driver] > coefficient["tickets"]
    assert drivers[0][2] > 0.6  # AUC on the later, held-out snapshot
