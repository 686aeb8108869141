"""`acrm mine`: the mining methods on any transactions file, outside the warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from acrm.output import Format, fail, print_frame, print_json, progress, stderr

mine_app = typer.Typer(help="Data mining on a transactions file (CSV).", no_args_is_help=True)


def read_transactions(path: Path, columns: list[str]):
    """A CSV of transactions as a DataFrame, with a clear error when it cannot be read."""
    # lazy on purpose: only this output needs it
    import pandas as pd

    if not path.exists():
        raise fail(f"--transactions {path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise fail(f"--transactions {path}: not a readable CSV ({exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise fail(
            f"--transactions {path}: no column {', '.join(map(repr, missing))}; "
            f"the columns are: {', '.join(frame.columns)}"
        )
    return frame


@mine_app.command("clv")
def clv(
    transactions: Annotated[Path, typer.Option(help="CSV file, one row per purchase")],
    customer_col: Annotated[str, typer.Option(help="Column naming the customer")],
    date_col: Annotated[str, typer.Option(help="Column with the purchase date")],
    amount_col: Annotated[str, typer.Option(help="Column with the purchase value")],
    observation_end: Annotated[str, typer.Option(help="Last day of the observation (YYYY-MM-DD)")],
    time_unit: Annotated[str, typer.Option(help="day, week or month")] = "week",
    horizon: Annotated[float, typer.Option(help="Horizon of the CLV, in time units")] = 52,
    discount_rate: Annotated[float, typer.Option(help="Monthly discount rate")] = 0.0,
    margin: Annotated[float, typer.Option(help="Share of a purchase's value kept")] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="CSV of per-customer results [default: clv.csv beside]")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Fit BG/NBD and Gamma-Gamma; print the parameters and write per-customer CLV."""
    # lazy on purpose: SciPy and scikit-learn are only for `acrm mine`
    from mining.clv import ClvInputError, customer_lifetime_value, summarise

    try:
        end = dt.date.fromisoformat(observation_end)
    except ValueError:
        raise fail(f"--observation-end {observation_end!r}: write a date as YYYY-MM-DD") from None
    frame = read_transactions(transactions, [customer_col, date_col, amount_col])
    progress(f"{len(frame):,} transactions read from {transactions}")
    try:
        summary = summarise(frame, customer_col, date_col, amount_col, end, time_unit)
        result = customer_lifetime_value(summary, horizon, time_unit, discount_rate, margin)
    except ClvInputError as exc:
        raise fail(f"--transactions {transactions}: {exc}") from None
    path = out or transactions.with_name(f"{transactions.stem}.clv.csv")
    result.customers.to_csv(path, index=False)
    document = {
        **result.parameters(),
        "customers": len(result.customers),
        "repeat_customers": int((result.customers["frequency"] > 0).sum()),
        "time_unit": time_unit,
        "horizon": horizon,
        "per_customer": str(path),
    }
    if fmt is Format.json:
        print_json(document)
        return
    b, g = result.bgnbd, result.gamma_gamma
    stderr.print(
        f"BG/NBD       r={b.r:.4f} alpha={b.alpha:.4f} a={b.a:.4f} b={b.b:.4f} "
        f"log-likelihood={b.log_likelihood:.2f}\n"
        f"Gamma-Gamma  p={g.p:.4f} q={g.q:.4f} gamma={g.gamma:.4f} "
        f"log-likelihood={g.log_likelihood:.2f}\n"
        f"per-customer p_alive, expected_purchases, expected_spend, clv: {path}",
        highlight=False,
    )


@mine_app.command("rules")
def rules(
    transactions: Annotated[Path, typer.Option(help="CSV file, one row per (transaction, item)")],
    transaction_col: Annotated[str, typer.Option(help="Column naming the transaction")],
    item_col: Annotated[str, typer.Option(help="Column naming the item")],
    min_support: Annotated[float, typer.Option(help="Share of transactions, in (0, 1]")] = 0.01,
    min_confidence: Annotated[float, typer.Option(help="In [0, 1]")] = 0.0,
    max_len: Annotated[int | None, typer.Option(help="Largest itemset [default: no limit]")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Frequent itemsets (Apriori in DuckDB) and rules with support, confidence, lift,
    leverage and conviction, strongest lift first."""
    # lazy on purpose: SciPy and scikit-learn are only for `acrm mine`
    import pyarrow as pa

    from mining.basket import BasketInputError, association_rules, frequent_itemsets

    frame = read_transactions(transactions, [transaction_col, item_col])
    try:
        itemsets, n = frequent_itemsets(frame, transaction_col, item_col, min_support, max_len)
        found = association_rules(itemsets, min_confidence)
    except BasketInputError as exc:
        raise fail(f"--transactions {transactions}: {exc}") from None
    progress(f"{n:,} transactions, {len(itemsets):,} frequent itemsets, {len(found):,} rules")
    found["antecedent"] = found["antecedent"].map(list)
    found["consequent"] = found["consequent"].map(list)
    found["conviction"] = found["conviction"].map(lambda v: None if v == float("inf") else v)
    if fmt is Format.json:
        print_json(found.to_dict(orient="records"))
        return
    table = found.assign(
        antecedent=found["antecedent"].map(", ".join), consequent=found["consequent"].map(", ".join)
    )
    formats = {c: "{:.4f}" for c in ("support", "confidence", "lift", "leverage", "conviction")}
    print_frame(pa.Table.from_pandas(table, preserve_index=False), fmt, formats)
