"""Market basket: itemsets and rules on the textbook example (Tan, Steinbach & Kumar,
Introduction to Data Mining, table 6.1), computed by hand."""

import math

import pandas as pd
import pytest

from mining.basket import BasketInputError, association_rules, frequent_itemsets

BASKETS = {
    1: ["bread", "milk"],
    2: ["bread", "diaper", "beer", "eggs"],
    3: ["milk", "diaper", "beer", "cola"],
    4: ["bread", "milk", "diaper", "beer"],
    5: ["bread", "milk", "diaper", "cola"],
}


@pytest.fixture
def lines() -> pd.DataFrame:
    rows = [(t, i) for t, items in BASKETS.items() for i in items]
    rows.append((4, "beer"))  # a repeated line counts once
    return pd.DataFrame(rows, columns=["order", "product"])


def test_frequent_itemsets_at_three_of_five(lines) -> None:
    itemsets, n = frequent_itemsets(lines, "order", "product", min_support=0.6)
    counts = dict(zip(itemsets["items"], itemsets["count"], strict=True))
    assert n == 5
    assert counts == {
        ("bread",): 4,
        ("milk",): 4,
        ("diaper",): 4,
        ("beer",): 3,
        ("bread", "milk"): 3,
        ("bread", "diaper"): 3,
        ("diaper", "milk"): 3,
        ("beer", "diaper"): 3,
    }  # {bread, milk, diaper} is in 2 baskets only


def test_rules_have_hand_computed_measures(lines) -> None:
    itemsets, _ = frequent_itemsets(lines, "order", "product", min_support=0.6)
    rules = association_rules(itemsets, min_confidence=0.7)
    rule = rules[(rules["antecedent"] == ("diaper",)) & (rules["consequent"] == ("beer",))]
    assert rule.iloc[0][["support", "confidence", "lift", "leverage", "conviction"]].tolist() == (
        pytest.approx([0.6, 0.75, 1.25, 0.12, 1.6])
    )
    reverse = rules[(rules["antecedent"] == ("beer",)) & (rules["consequent"] == ("diaper",))]
    assert reverse.iloc[0]["confidence"] == 1.0 and math.isinf(reverse.iloc[0]["conviction"])
    assert (rules["confidence"] >= 0.7).all()
    assert rules["lift"].is_monotonic_decreasing


def test_triples_and_their_rules(lines) -> None:
    itemsets, _ = frequent_itemsets(lines, "order", "product", min_support=0.4)
    triples = itemsets[itemsets["size"] == 3]
    assert set(triples["items"]) == {
        ("bread", "diaper", "milk"),
        ("beer", "diaper", "milk"),
        ("beer", "bread", "diaper"),
        ("cola", "diaper", "milk"),  # baskets 3 and 5
    }
    rules = association_rules(itemsets)
    rule = rules[rules["antecedent"] == ("bread", "milk")]
    assert rule.iloc[0]["consequent"] == ("diaper",)
    assert rule.iloc[0]["confidence"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_support": 0}, "min support 0"),
        ({"min_support": 0.5, "item": "sku"}, "column 'sku' not found"),
    ],
)
def test_bad_input_names_the_parameter(lines, kwargs, message) -> None:
    arguments = {"transaction": "order", "item": "product"} | kwargs
    with pytest.raises(BasketInputError, match=message):
        frequent_itemsets(lines, **arguments)
