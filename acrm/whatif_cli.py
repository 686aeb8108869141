"""`acrm whatif`: what a change in the funnel or the ad budget would bring, from the
published warehouse, with its assumptions."""

from __future__ import annotations

from typing import Annotated

import typer

from acrm.output import Format, FormatOption, WarehouseOption, fail, print_json, stderr
from core.settings import Settings

# the budget table's columns for people; --format json has every one (the fit's parameters)
TABLE_COLUMNS = ["spend", "projected_spend", "revenue", "projected_revenue",
                 "projected_revenue_low", "projected_revenue_high", "romi", "projected_romi",
                 "fit_r2"]  # fmt: skip
whatif_app = typer.Typer(help="What-if projections over the warehouse.", no_args_is_help=True)


def parse_share(text: str, option: str) -> float:
    """'20%', '20' or '0.2' as 0.2."""
    raw = text.strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise fail(f"{option} {text!r}: give a share, e.g. 20% or 0.2") from None
    return value / 100 if raw.endswith("%") or value > 1 else value


def _answer(compute) -> dict:
    # lazy on purpose: DuckDB is only for the commands that read the warehouse
    import duckdb

    from cubes.whatif import WhatIfError

    def run(settings: Settings) -> dict:
        if not settings.published.exists():
            raise fail(f"no published warehouse at {settings.published}: run `acrm run` first")
        with duckdb.connect(str(settings.published), read_only=True) as con:
            try:
                return compute(con)
            except WhatIfError as exc:
                raise fail(str(exc)) from None

    return run


@whatif_app.command("funnel")
def funnel(
    manager: Annotated[str, typer.Option(help="Manager: key or name, as dim_managers has it")],
    stage: Annotated[str, typer.Option(help="Open funnel stage, e.g. Proposal")],
    conversion: Annotated[
        float | None, typer.Option(help="Target conversion out of the stage, e.g. 0.75")
    ] = None,
    to: Annotated[str | None, typer.Option(help="'peers': the other managers' conversion")] = None,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Extra won deals and revenue per month at another conversion out of one stage."""
    from cubes import whatif

    if to not in (None, "peers"):
        raise fail(f"--to {to!r}: the only target is 'peers'")
    answer = _answer(lambda con: whatif.funnel(con, manager, stage, conversion, to == "peers"))(
        Settings.load(warehouse)
    )
    if fmt is Format.json:
        print_json(answer)
        return
    stderr.print(
        f"{answer['manager']} at {answer['stage']}: {answer['conversion']:.1%} -> "
        f"{answer['target_conversion']:.1%}\n"
        f"  won deals per month: {answer['actual_won_deals_per_month']:.1f} actual, "
        f"{answer['extra_won_deals_per_month']:+.2f} projected\n"
        f"  won revenue per month: {answer['actual_won_revenue_per_month']:,.0f} actual, "
        f"{answer['extra_revenue_per_month']:+,.0f} projected",
        highlight=False,
    )
    _assumptions(answer)


@whatif_app.command("budget")
def budget(
    move: Annotated[str, typer.Option(help="Share of the source's spend to move, e.g. 20%")],
    from_: Annotated[str, typer.Option("--from", help="Channel to take spend from")],
    to: Annotated[str, typer.Option(help="Channel to give it to")],
    model: Annotated[str, typer.Option(help="linear (today's ROMI) or saturating")] = "linear",
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Projected attributed revenue and ROMI per channel with spend moved between two."""
    import pyarrow as pa

    from acrm.output import print_frame
    from cubes import whatif

    share = parse_share(move, "--move")
    answer = _answer(lambda con: whatif.budget(con, share, from_, to, model))(
        Settings.load(warehouse)
    )
    if fmt is Format.json:
        print_json(answer)
        return
    shown = [c for c in TABLE_COLUMNS if c in answer["channels"][0]]
    rows = [{c: row[c] for c in ["channel", *shown]} for row in answer["channels"]]
    formats = {c: "{:,.2f}" if "romi" in c or "r2" in c else "{:,.0f}" for c in shown}
    print_frame(pa.Table.from_pylist(rows), fmt, formats)
    stderr.print(f"revenue change: {answer['revenue_change']:+,.0f}", highlight=False)
    _assumptions(answer)


def _assumptions(answer: dict) -> None:
    stderr.print("assumptions:\n" + "\n".join(f"  - {a}" for a in answer["assumptions"]))
