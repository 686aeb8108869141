"""Recommendations by item-based collaborative filtering ("customers who bought this also
bought"), with an offline evaluation on a time-based holdout.

The purchase matrix is binary: customer x item, 1 when the customer ever bought the item.
Two items are similar when the same customers bought them: cosine similarity of their
columns, sim(i, j) = |B(i) & B(j)| / sqrt(|B(i)| |B(j)|), where B(i) is the set of buyers
of i. A customer's score for an item is the sum of its similarities to the items the
customer bought; items already bought are not recommended. This is Amazon's item-to-item
method (Linden, Smith & York, 2003): the item x item matrix is small (products, not
customers), so scoring every customer is one sparse x dense product.

Evaluation: fit on purchases before a cutoff, recommend k items to every customer who
bought before it and bought something new after it, and count the hits among the items
bought after the cutoff that the customer had not bought before.
precision@k = hits / k and recall@k = hits / new items, averaged over those customers.
The same numbers for "the k most popular items not yet bought" are the baseline a
recommender must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

CHUNK = 50_000  # customers scored at once: CHUNK x items doubles in memory


class RecommendInputError(ValueError):
    """The purchases or a parameter cannot be used; the message names which."""


@dataclass(frozen=True)
class Purchases:
    """A binary customer x item matrix and the labels of its rows and columns."""

    customers: pd.Index
    items: pd.Index
    matrix: sparse.csr_matrix

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame, customer: str, item: str) -> Purchases:
        for column in (customer, item):
            if column not in pairs.columns:
                raise RecommendInputError(
                    f"column {column!r} not found; the columns are: {', '.join(pairs.columns)}"
                )
        if pairs.empty:
            raise RecommendInputError("no purchases to learn from")
        rows, customers = pd.factorize(pairs[customer], sort=True)
        columns, items = pd.factorize(pairs[item], sort=True)
        matrix = sparse.csr_matrix(
            (np.ones(len(pairs)), (rows, columns)), shape=(len(customers), len(items))
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return cls(pd.Index(customers), pd.Index(items), matrix)


def item_similarity(purchases: Purchases) -> np.ndarray:
    """Cosine similarity between the items' buyer sets; 0 on the diagonal."""
    together = (purchases.matrix.T @ purchases.matrix).toarray()
    buyers = np.sqrt(np.diag(together))
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = together / np.outer(buyers, buyers)
    similarity[~np.isfinite(similarity)] = 0.0
    np.fill_diagonal(similarity, 0.0)
    return similarity


def _top(scores: np.ndarray, bought: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k best columns not bought (best first, ties by column position) and
    their scores; a column with no score (<= 0) is not a recommendation and comes back -1."""
    scores = np.where(bought, -np.inf, scores)
    k = min(k, scores.shape[1])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    best_scores = np.take_along_axis(scores, best, axis=1)
    best[~(best_scores > 0)] = -1
    return best, best_scores


def recommend(purchases: Purchases, k: int = 5) -> pd.DataFrame:
    """Top-k items per customer: columns customer, rank (1 = best), item, score."""
    if k < 1:
        raise RecommendInputError(f"k {k}: give at least 1 recommendation per customer")
    similarity = item_similarity(purchases)
    frames = []
    for start in range(0, len(purchases.customers), CHUNK):
        bought = purchases.matrix[start : start + CHUNK]
        best, best_scores = _top(bought @ similarity, bought.toarray() > 0, k)
        rows, ranks = np.nonzero(best >= 0)
        frames.append(
            pd.DataFrame(
                {
                    "customer": purchases.customers[start + rows],
                    "rank": ranks + 1,
                    "item": purchases.items[best[rows, ranks]],
                    "score": best_scores[rows, ranks],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Evaluation:
    k: int
    customers: int  # evaluated: bought before the cutoff and something new after it
    precision: float
    recall: float
    popular_precision: float
    popular_recall: float


def evaluate(
    before: pd.DataFrame, after: pd.DataFrame, customer: str, item: str, k: int = 5
) -> Evaluation:
    """precision@k and recall@k of `recommend` fitted on `before`, judged on the new items
    of `after`, next to the same for the most popular items not yet bought."""
    purchases = Purchases.from_pairs(before, customer, item)
    later = after[after[customer].isin(purchases.customers) & after[item].isin(purchases.items)]
    rows = purchases.customers.get_indexer(later[customer])
    columns = purchases.items.get_indexer(later[item])
    new = (
        sparse.csr_matrix(
            (np.ones(len(later)), (rows, columns)), shape=purchases.matrix.shape
        ).toarray()
        > 0
    )
    bought = purchases.matrix.toarray() > 0
    new &= ~bought
    judged = new.any(axis=1)
    if not judged.any():
        raise RecommendInputError(
            "no customer bought a new item after the cutoff: move the cutoff earlier"
        )
    new, bought = new[judged], bought[judged]
    similarity = item_similarity(purchases)
    cf, _ = _top(purchases.matrix[np.flatnonzero(judged)] @ similarity, bought, k)
    popularity = np.asarray(purchases.matrix.sum(axis=0)).ravel()
    popular, _ = _top(np.broadcast_to(popularity, bought.shape), bought, k)

    def rates(best: np.ndarray) -> tuple[float, float]:
        hits = np.zeros(len(best))
        for j in range(best.shape[1]):
            column = best[:, j]
            hits += (column >= 0) & new[np.arange(len(best)), np.maximum(column, 0)]
        return float(np.mean(hits / k)), float(np.mean(hits / new.sum(axis=1)))

    precision, recall = rates(cf)
    popular_precision, popular_recall = rates(popular)
    return Evaluation(k, int(judged.sum()), precision, recall, popular_precision, popular_recall)
