"""Item-based collaborative filtering on a five-customer example, computed by hand.

Buyers: x {A, B, D}, y {A, B, C}, z {B, C, E}, so the cosine similarities are
sim(x, y) = 2/3, sim(x, z) = 1/3, sim(y, z) = 2/3.
"""

import numpy as np
import pandas as pd
import pytest

from mining.recommend import (
    Purchases,
    RecommendInputError,
    evaluate,
    item_similarity,
    recommend,
)

BEFORE = pd.DataFrame(
    [
        *[("A", "x"), ("A", "y"), ("B", "x"), ("B", "y"), ("B", "z"), ("C", "y"), ("C", "z")],
        *[("D", "x"), ("E", "z"), ("A", "x")],  # a repeated purchase counts once
    ],
    columns=["customer", "product"],
)
AFTER = pd.DataFrame(
    [("A", "z"), ("D", "z"), ("E", "x"), ("C", "y"), ("C", "w"), ("F", "x")],
    columns=["customer", "product"],
)  # C buys only what it had or an unknown item, F is new: neither is judged


@pytest.fixture
def purchases() -> Purchases:
    return Purchases.from_pairs(BEFORE, "customer", "product")


def test_cosine_similarity_of_buyer_sets(purchases) -> None:
    expected = [[0, 2 / 3, 1 / 3], [2 / 3, 0, 2 / 3], [1 / 3, 2 / 3, 0]]
    assert item_similarity(purchases) == pytest.approx(np.array(expected))


def test_recommendations_exclude_what_was_bought_and_rank_by_summed_similarity(
    purchases,
) -> None:
    found = recommend(purchases, k=2)
    by_customer = {
        c: list(zip(g["item"], g["score"].round(6), strict=True))
        for c, g in found.groupby("customer")
    }
    assert by_customer == {
        "A": [("z", pytest.approx(1.0))],
        "C": [("x", pytest.approx(1.0))],
        "D": [("y", pytest.approx(2 / 3)), ("z", pytest.approx(1 / 3))],
        "E": [("y", pytest.approx(2 / 3)), ("x", pytest.approx(1 / 3))],
    }  # B bought everything
    assert found.groupby("customer")["rank"].apply(list).to_dict()["D"] == [1, 2]


def test_precision_and_recall_at_k_on_the_holdout() -> None:
    at_1 = evaluate(BEFORE, AFTER, "customer", "product", k=1)
    # A -> z hit, D -> y miss, E -> y miss; popular (ties by name): A z hit, D y, E x hit
    assert (at_1.customers, at_1.precision, at_1.recall) == (3, pytest.approx(1 / 3), 1 / 3)
    assert (at_1.popular_precision, at_1.popular_recall) == pytest.approx((2 / 3, 2 / 3))
    at_2 = evaluate(BEFORE, AFTER, "customer", "product", k=2)
    assert (at_2.precision, at_2.recall) == pytest.approx((0.5, 1.0))


def test_bad_input_names_the_problem(purchases) -> None:
    with pytest.raises(RecommendInputError, match="column 'sku' not found"):
        Purchases.from_pairs(BEFORE, "customer", "sku")
    with pytest.raises(RecommendInputError, match="k 0"):
        recommend(purchases, k=0)
    with pytest.raises(RecommendInputError, match="no customer bought a new item"):
        evaluate(BEFORE, BEFORE, "customer", "product")
