"""`acrm audience`: customers chosen by the cube's levels and their scores, with a holdout,
written to the publication's audiences folder and back into the CRM's database."""

from __future__ import annotations

from typing import Annotated

import typer

from acrm.output import Format, FormatOption, WarehouseOption, fail, print_json, progress
from acrm.whatif_cli import parse_share
from core.settings import Settings, crm_url

audience_app = typer.Typer(help="Audiences for campaigns, back into the CRM.", no_args_is_help=True)


@audience_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Audience name: letters, digits, '-' and '_'")],
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="customer.LEVEL=V1[,V2] or customer.LEVEL!=V, or SCORE>VALUE "
            "(churn_probability, clv, p_alive, predicted_value, days_since_contact, "
            "uplift:<campaign key>); repeatable",
        ),
    ] = None,
    holdout: Annotated[str, typer.Option(help="Share kept aside at random, e.g. 10%")] = "0",
    crm: Annotated[bool, typer.Option(help="Also write the members into the CRM")] = True,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Select the audience, write NAME.csv/.parquet beside the publication and its rows into
    the CRM's acrm_audience_members (the same build gives the same rows)."""
    import duckdb

    from cubes.audiences import AudienceError, Rule, select, write_crm, write_files

    settings = Settings.load(warehouse)
    if not settings.published.exists():
        raise fail(f"no published warehouse at {settings.published}: run `acrm run` first")
    given = filter_ or []
    rule = Rule(
        levels=tuple(f for f in given if f.strip().startswith("customer.")),
        thresholds=tuple(f for f in given if not f.strip().startswith("customer.")),
        holdout=parse_share(holdout, "--holdout"),
    )
    try:
        with duckdb.connect(str(settings.published), read_only=True) as con:
            members, about = select(con, name, rule)
        paths = write_files(audiences_folder(settings), members, about)
        progress(f"wrote {paths[0]} and {paths[1].name}")
        if crm:
            written = write_crm(crm_url(settings), members, about)
            progress(f"wrote {written:,} rows of {name!r} to the CRM's acrm_audience_members")
    except AudienceError as exc:
        raise fail(str(exc)) from None
    _show([about], fmt)


@audience_app.command("list")
def list_(warehouse: WarehouseOption = None, fmt: FormatOption = Format.table) -> None:
    """Every audience written: its size, holdout and creation."""
    from cubes.audiences import listing

    _show(listing(audiences_folder(Settings.load(warehouse))), fmt)


@audience_app.command("effect")
def effect(
    name: Annotated[str, typer.Argument(help="An audience made with `acrm audience create`")],
    warehouse: WarehouseOption = None,
) -> None:
    """What the audience's campaign did: its treated members against its holdout on
    purchase, revenue per customer, retention and churn, with 95% intervals, from the
    orders published since it was created ("too early" until the windows close)."""
    import datetime as dt

    import duckdb

    from cubes import control
    from cubes.audiences import AudienceError, read

    settings = Settings.load(warehouse)
    try:
        members, about = read(audiences_folder(settings), name)
    except AudienceError as exc:
        raise fail(str(exc)) from None
    sent_at = dt.datetime.fromisoformat(about["created_at"])
    with duckdb.connect(str(settings.published), read_only=True) as con:
        print_json({"audience": name, "created_at": about["created_at"],
                    **control.effect(con, members, sent_at)})  # fmt: skip


def audiences_folder(settings: Settings):
    from cubes.audiences import folder_of

    return folder_of(settings.published)


def _show(rows: list[dict], fmt: Format) -> None:
    import pyarrow as pa

    from acrm.output import print_frame

    if fmt is Format.json:
        print_json(rows)
        return
    shown = [{k: r[k] for k in ("audience", "size", "holdout_size", "holdout_share",
                                "created_at", "build_id")} for r in rows]  # fmt: skip
    print_frame(pa.Table.from_pylist(shown), fmt, {"size": "{:,}", "holdout_size": "{:,}",
                                                   "holdout_share": "{:.0%}"})  # fmt: skip
