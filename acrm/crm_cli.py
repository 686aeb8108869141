"""`acrm crm`: the CRM maps: list the shipped ones, start one of your own, check one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acrm.output import Format, fail, print_frame, print_json, stderr

crm_app = typer.Typer(
    help="CRM maps: how your CRM's tables become ACRM's entities.", no_args_is_help=True
)


@crm_app.command("maps")
def maps(fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table):
    """The shipped maps: use one with ACRM_CRM_MAP=<name>, or start yours from it."""
    # lazy on purpose: the CRM maps pull in sqlglot and YAML
    from core.crm_map import load, shipped_maps

    rows = []
    for name in shipped_maps():
        crm_map = load(name)
        rows.append(
            {"map": name, "entities": len(crm_map.entities), "description": crm_map.description}
        )
    # lazy on purpose: only this output needs it
    import pyarrow as pa

    print_frame(pa.Table.from_pylist(rows), fmt, title="CRM maps (ACRM_CRM_MAP)")


@crm_app.command("init")
def init(
    from_: Annotated[str, typer.Option("--from", help="The shipped map to start from")] = "csv",
) -> None:
    """Print a starting map: `acrm crm init --from hubspot > my.yml`, then edit and check it."""
    # lazy on purpose: the CRM maps pull in sqlglot and YAML
    from core.crm_map import MapError, init_text

    try:
        typer.echo(init_text(from_), nl=False)
    except MapError as exc:
        raise fail(str(exc)) from None


@crm_app.command("check")
def check(
    crm_map: Annotated[
        str | None,
        typer.Option("--map", help="A shipped map or a .yml file [env ACRM_CRM_MAP]"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="The CRM: database URL or export folder [env ACRM_CRM_URL]"),
    ] = None,
    sources: Annotated[
        Path | None, typer.Option("--sources", help="Sources folder (for the sample CRM)")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Validate a map against its source: rows per entity, what is absent, and the marts
    and cube measures that will be empty. Nothing is landed."""
    # lazy on purpose: Dagster and the definitions take seconds to import
    from core.crm_map import MapError, load, map_reference
    from core.settings import Settings, crm_url
    from cubes.acrm import measures_without
    from pipelines.ingest.crm_coverage import coverage
    from pipelines.ingest.files import SourceError

    url = url or crm_url(Settings.load(sources=sources))
    try:
        loaded = load(crm_map or map_reference(url))
        found = coverage(loaded, url)
    except (MapError, SourceError) as exc:
        raise fail(str(exc)) from None
    missing = {c.entity for c in found if c.empty}
    empty_marts = sorted({mart for c in found for mart in c.empties})
    measures = measures_without(missing)
    failed = [c for c in found if c.status == "error"]
    if fmt != Format.table:
        print_json(
            {
                "map": str(loaded.path),
                "entities": [c.__dict__ for c in found],
                "empty": empty_marts,
                "empty_measures": measures,
            }
        )
    else:
        _print_check(loaded, found, empty_marts, measures)
    if failed:
        raise typer.Exit(code=1)


def _print_check(loaded, found, empty_marts, measures) -> None:
    # lazy on purpose: only this output needs it
    import pyarrow as pa

    print_frame(
        pa.Table.from_pylist([c.__dict__ for c in found]),
        Format.table,
        formats={"rows": "{:,}"},
        title=f"CRM map {loaded.name} ({loaded.path})",
    )
    stderr.print(
        "[bold]Empty in the warehouse:[/bold] " + (", ".join(empty_marts) or "nothing"),
        highlight=False,
    )
    stderr.print(
        "[bold]Cube measures that will be empty:[/bold] " + (", ".join(measures) or "none"),
        highlight=False,
    )
