"""Two warehouses' marts compared: the same rows, floating-point sums to 1e-9 relative."""

import math


def mart_tables(con) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
    ]


def columns(con, table: str) -> tuple[list[str], list[str]]:
    """The table's exact columns and its floating-point ones (`loaded_at` left out)."""
    rows = con.execute(
        "select column_name, data_type in ('DOUBLE', 'FLOAT') from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? and column_name <> 'loaded_at' "
        "and table_catalog = current_database() order by ordinal_position",
        [table],
    ).fetchall()
    return [n for n, floating in rows if not floating], [n for n, floating in rows if floating]


def differences(con, table: str) -> list[str]:
    """Rows of marts.<table> whose exact columns differ from those of the warehouse attached
    as `whole`, both ways; floating-point columns by their sums,
    to 1e-9 relative, since DuckDB's parallel sums may add in another order."""
    exact, floating = columns(con, table)
    cols = ", ".join(exact)
    ours, theirs = f"select {cols} from marts.{table}", f"select {cols} from whole.marts.{table}"
    found = con.execute(
        f"select (select count(*) from ({ours} except all {theirs})), "
        f"(select count(*) from ({theirs} except all {ours}))"
    ).fetchall()[0]
    out = [f"{found} rows differ"] if found != (0, 0) else []
    for name in floating:
        a, b = con.execute(
            f"select (select sum({name}) from marts.{table}), "
            f"(select sum({name}) from whole.marts.{table})"
        ).fetchall()[0]
        if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=1e-9)):
            out.append(f"sum({name}): {a} against {b}")
    return out
