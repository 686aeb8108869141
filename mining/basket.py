"""Market basket: frequent itemsets by Apriori in DuckDB SQL, and association rules.

Apriori level by level: items, then pairs of frequent items, then triples whose every
pair is frequent, each counted by a join over the (transaction, item) table. Orders hold
few lines, so the joins stay small, and DuckDB counts in parallel; mlxtend would first
build a one-hot orders x products matrix in memory.

Rules A -> C for every frequent itemset I = A + C: support = supp(I), confidence =
supp(I) / supp(A), lift = confidence / supp(C), leverage = supp(I) - supp(A) supp(C),
conviction = (1 - supp(C)) / (1 - confidence) (infinite when confidence is 1).
"""

from __future__ import annotations

import itertools
import math

import duckdb
import pandas as pd


class BasketInputError(ValueError):
    """The transactions or a threshold cannot be used; the message names which."""


def frequent_itemsets(
    pairs: pd.DataFrame,
    transaction: str,
    item: str,
    min_support: float,
    max_len: int = 3,
) -> tuple[pd.DataFrame, int]:
    """(itemsets with columns items (tuple, sorted), size, count, support; transactions)."""
    if not 0 < min_support <= 1:
        raise BasketInputError(f"min support {min_support}: give a share in (0, 1]")
    for column in (transaction, item):
        if column not in pairs.columns:
            raise BasketInputError(
                f"column {column!r} not found; the columns are: {', '.join(pairs.columns)}"
            )
    con = duckdb.connect()
    try:
        basket = pd.DataFrame({"t": pairs[transaction].astype(str), "i": pairs[item].astype(str)})
        con.register("raw", basket)
        con.execute("create table lines as select distinct t, i from raw")
        n = con.execute("select count(distinct t) from lines").fetchall()[0][0]
        if n == 0:
            raise BasketInputError("no transactions")
        threshold = math.ceil(min_support * n - 1e-9)
        con.execute(
            "create table level1 as select i as i1, count(*) as n from lines "
            "group by i having count(*) >= $k",
            {"k": threshold},
        )
        found = [con.execute("select [i1] as items, n from level1").df()]
        for size in range(2, max_len + 1):
            con.execute(_level_sql(size), {"k": threshold})
            keys = ", ".join(f"i{j}" for j in range(1, size + 1))
            level = con.execute(f"select [{keys}] as items, n from level{size}").df()
            if level.empty:
                break
            found.append(level)
    finally:
        con.close()
    itemsets = pd.concat(found, ignore_index=True)
    itemsets["items"] = itemsets["items"].map(lambda v: tuple(sorted(v)))
    itemsets["size"] = itemsets["items"].map(len)
    itemsets = itemsets.rename(columns={"n": "count"})
    itemsets["support"] = itemsets["count"] / n
    return itemsets.sort_values(["size", "count"], ascending=[True, False], ignore_index=True), n


def _level_sql(size: int) -> str:
    """The frequent itemsets of `size` items, from the lines and the level below: each set
    once (items in order), every (size-1)-subset frequent (the Apriori property)."""
    keys = [f"i{j}" for j in range(1, size + 1)]
    joins = " ".join(
        f"join lines as l{j} on l{j}.t = l1.t and l{j}.i > l{j - 1}.i" for j in range(2, size + 1)
    )
    subsets = " and ".join(
        f"exists (select 1 from level{size - 1} as p where "
        + " and ".join(f"p.i{k + 1} = l{j}.i" for k, j in enumerate(s))
        + ")"
        for s in itertools.combinations(range(1, size + 1), size - 1)
    )
    return (
        f"create table level{size} as select "
        + ", ".join(f"l{j}.i as {keys[j - 1]}" for j in range(1, size + 1))
        + f", count(*) as n from lines as l1 {joins} "
        f"where l1.i in (select i1 from level1) and {subsets} "
        f"group by all having count(*) >= $k"
    )


def association_rules(itemsets: pd.DataFrame, min_confidence: float = 0.0) -> pd.DataFrame:
    """Every rule A -> C from the itemsets with confidence >= min_confidence, by lift."""
    if not 0 <= min_confidence <= 1:
        raise BasketInputError(f"min confidence {min_confidence}: give a share in [0, 1]")
    support = dict(zip(itemsets["items"], itemsets["support"], strict=True))
    rows = []
    for items, both in support.items():
        for k in range(1, len(items)):
            for antecedent in itertools.combinations(items, k):
                consequent = tuple(i for i in items if i not in antecedent)
                confidence = both / support[antecedent]
                if confidence < min_confidence:
                    continue
                then = support[consequent]
                rows.append(
                    {
                        "antecedent": antecedent,
                        "consequent": consequent,
                        "support": both,
                        "confidence": confidence,
                        "lift": confidence / then,
                        "leverage": both - support[antecedent] * then,
                        "conviction": math.inf
                        if confidence >= 1
                        else (1 - then) / (1 - confidence),
                    }
                )
    columns = [
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
    ]
    rules = pd.DataFrame(rows, columns=columns)
    return rules.sort_values(["lift", "support"], ascending=False, ignore_index=True)
