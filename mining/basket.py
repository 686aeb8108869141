"""Market basket: frequent itemsets by Apriori in DuckDB SQL, and association rules.

Apriori level by level until no candidate is left: the frequent items; then, at each
size k, the candidates are two frequent (k-1)-itemsets that share their first k-2 items
(items kept in order), kept only when every (k-1)-subset is frequent (the Apriori
property), and counted by one join of the candidates with the order lines. Only lines of
frequent items take part. Orders hold few lines, so the joins stay small and DuckDB
counts in parallel; mlxtend (the reference the tests compare with) first builds a one-hot
orders x products matrix in memory.

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


def _check(pairs: pd.DataFrame, transaction: str, item: str, min_support: float) -> None:
    if not 0 < min_support <= 1:
        raise BasketInputError(f"min support {min_support}: give a share in (0, 1]")
    for column in (transaction, item):
        if column not in pairs.columns:
            raise BasketInputError(
                f"column {column!r} not found; the columns are: {', '.join(pairs.columns)}"
            )


def frequent_itemsets(
    pairs: pd.DataFrame,
    transaction: str,
    item: str,
    min_support: float,
    max_len: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """(itemsets with columns items (tuple, sorted), size, count, support; transactions).
    Every size is searched unless `max_len` stops it earlier."""
    _check(pairs, transaction, item, min_support)
    if max_len is not None and max_len < 1:
        raise BasketInputError(f"max length {max_len}: give at least 1, or no limit")
    con = duckdb.connect()
    try:
        basket = pd.DataFrame({"t": pairs[transaction].astype(str), "i": pairs[item].astype(str)})
        con.register("raw", basket)
        con.execute("create table lines as select distinct t, i from raw")
        n = con.execute("select count(distinct t) from lines").fetchall()[0][0]
        if n == 0:
            raise BasketInputError("no transactions: the file has a header and no rows")
        found = _levels(con, math.ceil(min_support * n - 1e-9), max_len)
    finally:
        con.close()
    itemsets = pd.concat(found, ignore_index=True)
    itemsets["items"] = itemsets["items"].map(lambda v: tuple(sorted(v)))
    itemsets["size"] = itemsets["items"].map(len)
    itemsets = itemsets.rename(columns={"n": "count"})
    itemsets["support"] = itemsets["count"] / n
    return itemsets.sort_values(["size", "count"], ascending=[True, False], ignore_index=True), n


def _levels(con: duckdb.DuckDBPyConnection, threshold: int, max_len: int | None) -> list:
    """Each level's frequent itemsets as frames (items list, n), from size 1 up."""
    con.execute(
        "create table level1 as select i as i1, count(*) as n from lines "
        "group by i having count(*) >= $k",
        {"k": threshold},
    )
    con.execute("create table frequent_lines as select * from lines semi join level1 on i = i1")
    found = [con.execute("select [i1] as items, n from level1").df()]
    size = 2
    while max_len is None or size <= max_len:
        con.execute(_candidates_sql(size))
        con.execute(_count_sql(size), {"k": threshold})
        keys = ", ".join(f"i{j}" for j in range(1, size + 1))
        level = con.execute(f"select [{keys}] as items, n from level{size}").df()
        if level.empty:
            break
        found.append(level)
        size += 1
    return found


def _candidates_sql(size: int) -> str:
    """Candidates of `size` items: two frequent (size-1)-itemsets with the same first
    size-2 items, whose every (size-1)-subset is frequent."""
    below = f"level{size - 1}"
    items = [f"a.i{j}" for j in range(1, size)] + [f"b.i{size - 1}"]
    conditions = [f"a.i{j} = b.i{j}" for j in range(1, size - 1)]
    conditions.append(f"a.i{size - 1} < b.i{size - 1}")
    # dropping the last item gives a, dropping the one before it b: check the others
    for drop in range(size - 2):
        kept = [item for j, item in enumerate(items) if j != drop]
        matches = " and ".join(f"p.i{k} = {item}" for k, item in enumerate(kept, start=1))
        conditions.append(f"exists (select 1 from {below} as p where {matches})")
    columns = ", ".join(f"{item} as i{j}" for j, item in enumerate(items, start=1))
    return (
        f"create or replace table candidates as select {columns} "
        f"from {below} as a join {below} as b on {' and '.join(conditions)}"
    )


def _count_sql(size: int) -> str:
    """The candidates found in at least $k transactions, with their counts."""
    joins = " ".join(
        f"join frequent_lines as l{j} on l{j}.t = l1.t and l{j}.i = c.i{j}"
        for j in range(2, size + 1)
    )
    return (
        f"create table level{size} as select c.*, count(*) as n from candidates as c "
        f"join frequent_lines as l1 on l1.i = c.i1 {joins} "
        "group by all having count(*) >= $k"
    )


RULE_COLUMNS = ["antecedent", "consequent", "support", "confidence", "lift", "leverage"]


def association_rules(itemsets: pd.DataFrame, min_confidence: float = 0.0) -> pd.DataFrame:
    """Every rule A -> C from the itemsets with confidence >= min_confidence, by lift.
    Confidence is a ratio of counts, so a rule exactly at the threshold is kept."""
    if not 0 <= min_confidence <= 1:
        raise BasketInputError(f"min confidence {min_confidence}: give a share in [0, 1]")
    count = dict(zip(itemsets["items"], itemsets["count"], strict=True))
    support = dict(zip(itemsets["items"], itemsets["support"], strict=True))
    rows = []
    for items, both in count.items():
        for k in range(1, len(items)):
            for antecedent in itertools.combinations(items, k):
                confidence = both / count[antecedent]
                if confidence >= min_confidence:
                    consequent = tuple(i for i in items if i not in antecedent)
                    measures = _measures(support[antecedent], support[consequent], support[items])
                    rows.append((antecedent, consequent, support[items], confidence, *measures))
    rules = pd.DataFrame(rows, columns=[*RULE_COLUMNS, "conviction"])
    return rules.sort_values(["lift", "support"], ascending=False, ignore_index=True)


def _measures(given: float, then: float, both: float) -> tuple[float, float, float]:
    """Lift, leverage and conviction of A -> C from supp(A), supp(C) and supp(A + C)."""
    confidence = both / given
    conviction = math.inf if confidence >= 1 else (1 - then) / (1 - confidence)
    return confidence / then, both - given * then, conviction
