"""Our Apriori against mlxtend's (a test-only reference) on a grocery-shaped dataset: a few
thousand baskets of about four items out of 169, with skewed item popularity (as in the
textbooks' Groceries data) and planted groups that make itemsets of four and five items.
Itemsets, their counts and every rule's measures must be equal, at two thresholds."""

import math

import numpy as np
import pandas as pd
import pytest

from mining.basket import association_rules, frequent_itemsets

ITEMS = [f"item{j:03d}" for j in range(169)]
# bought together now and then: each group makes frequent sets of up to its size
GROUPS = [ITEMS[3:8], ITEMS[10:14], ITEMS[20:24], [ITEMS[1], ITEMS[40], ITEMS[41]]]


def baskets(n: int = 6000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, len(ITEMS) + 1) ** 1.1
    popularity /= popularity.sum()
    rows = []
    for basket in range(n):
        items = set(rng.choice(ITEMS, size=1 + rng.poisson(3.4), p=popularity))
        if rng.random() < 0.12:
            group = GROUPS[rng.integers(len(GROUPS))]
            items |= {i for i in group if rng.random() < 0.85}
        rows += [(basket, item) for item in items]
    return pd.DataFrame(rows, columns=["basket", "item"])


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return baskets()


def reference(lines: pd.DataFrame, min_support: float, min_confidence: float):
    from mlxtend.frequent_patterns import apriori
    from mlxtend.frequent_patterns import association_rules as mlxtend_rules

    onehot = pd.crosstab(lines["basket"], lines["item"]).astype(bool)
    itemsets = apriori(onehot, min_support=min_support, use_colnames=True)
    # mlxtend divides float supports, so a rule exactly at the threshold can come out a
    # hair below it and be dropped; ours divides counts. Ask it for a hair less.
    rules = mlxtend_rules(
        itemsets,
        num_itemsets=len(onehot),
        metric="confidence",
        min_threshold=min_confidence - 1e-12,
    )
    return itemsets, rules


@pytest.mark.parametrize(("min_support", "min_confidence"), [(0.01, 0.2), (0.004, 0.3)])
def test_itemsets_and_rules_equal_mlxtends(lines, min_support, min_confidence) -> None:
    expected_sets, expected_rules = reference(lines, min_support, min_confidence)
    itemsets, n = frequent_itemsets(lines, "basket", "item", min_support)
    rules = association_rules(itemsets, min_confidence)

    ours = dict(zip(map(frozenset, itemsets["items"]), itemsets["support"], strict=True))
    theirs = dict(zip(expected_sets["itemsets"], expected_sets["support"], strict=True))
    assert n == lines["basket"].nunique()
    assert ours.keys() == theirs.keys()
    assert max(map(len, ours)) >= 4  # the planted groups reach past three items
    assert all(math.isclose(ours[s], theirs[s], rel_tol=1e-12) for s in ours)

    def keyed(frame: pd.DataFrame, a: str, c: str) -> dict:
        return {
            (frozenset(r[a]), frozenset(r[c])): r
            for r in frame[
                [a, c, "support", "confidence", "lift", "leverage", "conviction"]
            ].to_dict("records")
        }

    mine = keyed(rules, "antecedent", "consequent")
    reference_rules = keyed(expected_rules, "antecedents", "consequents")
    assert mine.keys() == reference_rules.keys()
    assert any(len(a) > 1 and len(c) > 1 for a, c in mine)  # multi-item on both sides
    for key, rule in mine.items():
        for measure in ("support", "confidence", "lift", "leverage", "conviction"):
            assert rule[measure] == pytest.approx(reference_rules[key][measure], rel=1e-9), (
                key,
                measure,
            )
