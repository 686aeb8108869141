"""The mining tables a pipeline run writes, and what they find in the generated data."""

import duckdb
import pytest

from cubes import CubeSession


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        yield con


def test_clv_ranks_the_planted_segment_first_through_the_cube(built_warehouse, truth) -> None:
    cube = CubeSession(built_warehouse.published)
    result = cube.query_names(
        ["avg_clv"], ["customer.segment"], filters=["customer.segment!=Unknown"]
    ).to_pylist()
    ranked = sorted(result, key=lambda r: r["avg_clv"], reverse=True)
    assert ranked[0]["customer.segment"] == truth["clv"]["top_segment"]


def test_clv_covers_every_buyer_with_sane_values(warehouse) -> None:
    buyers, valued, bad = warehouse.execute(
        "select (select count(distinct customer_key) from marts.fct_orders "
        "where is_paid and customer_key <> -1), count(*), "
        "count(*) filter (where clv < 0 or p_alive not between 0 and 1 "
        "or expected_purchases < 0) from mining.customer_clv"
    ).fetchall()[0]
    assert valued == buyers > 0 and bad == 0
    bands = dict(
        warehouse.execute(
            "select clv_band, count(*) from mining.customer_clv group by 1"
        ).fetchall()
    )
    assert len(bands) == 5 and max(bands.values()) - min(bands.values()) <= 1


def test_churn_model_beats_chance_on_the_later_snapshot(warehouse) -> None:
    auc = warehouse.execute("select max(auc) from mining.churn_drivers").fetchall()[0][0]
    assert auc > 0.6
    scored, with_drivers = warehouse.execute(
        "select count(*), count(*) filter (where top_drivers <> '') from mining.customer_churn"
    ).fetchall()[0]
    assert scored > 0 and with_drivers > 0.5 * scored


def test_the_planted_pairs_are_the_strongest_pair_rules(warehouse, truth) -> None:
    planted = {tuple(sorted(pair)) for pair in truth["basket"]["high_lift_pairs"]}
    pairs = warehouse.execute(
        "select antecedent_keys[1], consequent_keys[1], max(lift) from mining.basket_rules "
        "where len(antecedent_keys) = 1 and len(consequent_keys) = 1 "
        "group by least(antecedent_keys[1], consequent_keys[1]), "
        "greatest(antecedent_keys[1], consequent_keys[1]), 1, 2 order by 3 desc"
    ).fetchall()
    strongest = []
    for a, b, _ in pairs:
        pair = tuple(sorted((a, b)))
        if pair not in strongest:
            strongest.append(pair)
    assert set(strongest[: len(planted)]) == planted
    top_rules = warehouse.execute(
        "select list_sort(list_concat(antecedent_keys, consequent_keys)) from mining.basket_rules "
        "order by rule_rank limit 20"
    ).fetchall()
    assert all(any(set(p) <= set(r[0]) for p in planted) for r in top_rules)


def test_recommendations_are_new_products_and_are_evaluated(warehouse) -> None:
    per_customer, already_bought = warehouse.execute(
        "select max(n), (select count(*) from mining.product_recommendations as r "
        "join marts.fct_order_lines as l using (customer_key, product_key) where l.is_paid) "
        "from (select customer_key, count(*) as n from mining.product_recommendations "
        "group by 1)"
    ).fetchall()[0]
    assert per_customer == 5 and already_bought == 0
    k, customers, precision, recall = warehouse.execute(
        "select k, customers, precision, recall from mining.recommendation_evaluation"
    ).fetchall()[0]
    assert k == 5 and customers > 50
    assert 0 < precision <= 1 and 0 < recall <= 1
