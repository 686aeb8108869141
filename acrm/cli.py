"""`acrm`: the user's entry point. Progress goes to stderr; with --format json, stdout is JSON."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from acrm.audience_cli import audience_app
from acrm.crm_cli import crm_app
from acrm.mine_cli import mine_app
from acrm.output import (
    Format,
    FormatOption,
    WarehouseOption,
    fail,
    print_frame,
    print_json,
    progress,
    stderr,
    stdout_to_stderr,
)
from acrm.whatif_cli import whatif_app
from core.settings import DEFAULT_SOURCES, ServeSettings, Settings

app = typer.Typer(
    help="ACRM: analytical CRM warehouse.", no_args_is_help=True, pretty_exceptions_enable=False
)
cube_app = typer.Typer(help="Query the OLAP cube.", no_args_is_help=True)
app.add_typer(cube_app, name="cube")
app.add_typer(mine_app, name="mine")
app.add_typer(crm_app, name="crm")
app.add_typer(whatif_app, name="whatif")
app.add_typer(audience_app, name="audience")

SourcesOption = Annotated[
    Path | None,
    typer.Option(
        "--sources", help="Folder of operational sources [env ACRM_SOURCES; default data/sources]"
    ),
]


@app.command()
def generate(
    scale: Annotated[
        float,
        typer.Option(
            help="1 = about 20k customers, 60k deals, 300k calls, 1M web events over a year"
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files")] = 42,
    out: Annotated[Path, typer.Option(help="Folder to write the sources to")] = DEFAULT_SOURCES,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day (YYYY-MM-DD); default: one history of --days ending yesterday"
        ),
    ] = None,
    days: Annotated[int, typer.Option(help="Days of history")] = 365,
    cdr_files: Annotated[
        str,
        typer.Option(
            help="CDR files: 'daily' (Master-YYYY-MM-DD.csv) or 'master' (one growing "
            "Master.csv, older lines rotated into Master.csv-YYYYMMDD.gz)"
        ),
    ] = "daily",
    fmt: FormatOption = Format.table,
) -> None:
    """Write sample operational sources (CRM, calls, web, ads) with planted truths."""
    # lazy on purpose: numpy and the generator are only for `acrm generate`
    from acrm.generator import generate as run_generator
    from acrm.generator.truth import PlantingError

    try:
        start_date = dt.date.fromisoformat(start) if start else None
    except ValueError:
        raise fail(f"--start {start!r} is not a date; write it as YYYY-MM-DD") from None
    try:
        result = run_generator(
            out,
            scale=scale,
            seed=seed,
            start=start_date,
            days=days,
            progress=progress,
            cdr_files=cdr_files,
        )
    except (ValueError, PlantingError) as exc:
        raise fail(str(exc)) from None
    if fmt is Format.json:
        print_json(asdict(result))
    else:
        progress(
            f"wrote {sum(result.files.values()):,} files to {result.out} "
            f"({result.start}, {result.days} days); planted truths in "
            f"{Path(result.out) / 'truth.json'}"
        )
        for key, value in result.totals.items():
            stderr.print(f"  {key:>12}: {value:,}")


@app.command()
def run(
    warehouse: WarehouseOption = None,
    sources: SourcesOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Land every source, build the warehouse with dbt and publish it (the main job)."""
    # lazy on purpose: Dagster and the definitions take seconds to import
    from acrm import pipeline

    settings = Settings.load(warehouse, sources)
    try:
        with stdout_to_stderr():
            report = pipeline.run_all(settings, progress)
    except pipeline.PipelineError as exc:
        raise fail(str(exc)) from None
    if fmt is Format.json:
        print_json(report)
    else:
        progress(f"published {report['published']} in {report['seconds']:.0f} s")
        print_phases(report["phases"], report["seconds"])
        print_sources(report["rows_landed"], report["crm_notes"])
    if report["failed_partitions"]:
        for failure in report["failed_partitions"]:
            stderr.print(
                f"[bold yellow]not landed:[/bold yellow] {failure['source']} "
                f"{failure['partition']}: {failure['message']}",
                highlight=False,
            )
        stderr.print(
            "The other days were landed and published; the failed ones keep their "
            "last good state. Fix the files and run again."
        )
        raise typer.Exit(code=3)


@app.command("publish")
def publish_cmd(
    to: Annotated[
        str, typer.Option("--to", help="PostgreSQL URL, e.g. postgresql://user@host/analytics")
    ],
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Publish the last good build into PostgreSQL for BI tools: staged, checked, swapped in
    whole (ACRM_PUBLISH_TO makes `acrm run` do this after every good build)."""
    # lazy on purpose: importing pipelines loads Dagster, which takes seconds
    from pipelines.publish.postgresql import PostgresPublishError, publish_postgresql

    settings = Settings.load(warehouse)
    try:
        done = publish_postgresql(settings.published, to, progress)
    except PostgresPublishError as exc:
        raise fail(str(exc)) from None
    if fmt is Format.json:
        print_json(done)
    else:
        progress(
            f"build {done['build_id']}: {done['tables']} tables, {done['rows']:,} rows; "
            f"BI logins read through role {done['reader_role']}"
        )


def print_phases(phases: dict[str, float], total: float) -> None:
    """Seconds per phase of the run (steps, plus what came before the first one)."""
    stderr.print("\n[bold]Seconds per phase[/bold]")
    for name, seconds in phases.items():
        stderr.print(f"  {name:>36}: {seconds:7.1f}", highlight=False)
    stderr.print(f"  {'the whole run':>36}: {total:7.1f}", highlight=False)


def print_sources(landed: dict[str, int], crm_notes: dict[str, str]) -> None:
    """Rows landed per source; a source without any says so, and what it leaves empty; the
    CRM's entities that are absent, approximate or did not join their references."""
    stderr.print("\n[bold]Sources[/bold] (rows landed, all runs)")
    for name, rows in landed.items():
        stderr.print(
            f"  {name:>36}: {rows:,}" if rows else f"  {name:>36}: no data (its reports are empty)"
        )
    if crm_notes:
        stderr.print("\n[bold]CRM entities[/bold] (the latest load of each)")
        for entity, note in crm_notes.items():
            stderr.print(f"  {entity:>20}: {note}", highlight=False)


@app.command()
def summary(warehouse: WarehouseOption = None, fmt: FormatOption = Format.table) -> None:
    """Key numbers from the published warehouse, and where to look next."""
    # lazy on purpose: Dagster and the definitions take seconds to import
    from acrm import pipeline

    settings = Settings.load(warehouse)
    try:
        facts = pipeline.summarize(settings)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    if fmt is Format.json:
        print_json(facts)
        return
    stderr.print(f"\n[bold]ACRM warehouse[/bold] {settings.published}")
    for key, value in facts["numbers"].items():
        stderr.print(
            f"  {key:>22}: {value:,}" if isinstance(value, int | float) else f"  {key:>22}: {value}"
        )
    print_sources(facts["sources"], facts["crm_notes"])
    quarantined = facts["quarantined_rows"]
    stderr.print(
        "\n[bold]Quarantine[/bold] (raw._quarantine in the pipeline's file): "
        + (", ".join(f"{s} {n:,} rows" for s, n in quarantined.items()) or "no rows")
    )
    for failure in facts["failed_loads"]:
        stderr.print(
            f"[bold yellow]not landed:[/bold yellow] {failure['source']} "
            f"{failure['partition']}: {failure['message']}",
            highlight=False,
        )
    stderr.print(
        "\nNext:\n"
        "  acrm cube query --measures revenue,won_deals --rows channel.channel "
        "--cols manager.team\n"
        "  acrm cube levels | acrm cube measures\n"
        f"  open {settings.published.parent / 'report.html'}   # the directors' report\n"
        "  make serve              # the web pivot and HTTP API on http://127.0.0.1:8765/\n"
        "  make dagster            # the Dagster UI on the same definitions\n"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8765,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(help="A name clients reach the server by, besides loopback's (repeatable)"),
    ] = None,
    allow_anonymous: Annotated[
        bool, typer.Option(help="Listen beyond loopback without ACRM_API_TOKEN")
    ] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Serve the cube's HTTP API (pages at /docs, schema at /openapi.json), the web pivot at
    / and the report at /report, from the published warehouse (or the PostgreSQL
    publication, ACRM_PUBLISHED=postgresql://...). With ACRM_API_TOKEN set,
    everything but /health and the pivot page needs `Authorization: Bearer <token>`."""
    # lazy on purpose: FastAPI and uvicorn are only for `acrm serve`
    import uvicorn

    from core.publication import safe_url
    from serving.api import create_app
    from serving.security import LOOPBACK_HOSTS

    settings = Settings.load(warehouse)
    try:
        limits, source = ServeSettings.load(), settings.published_source
    except ValueError as exc:
        raise fail(str(exc)) from None
    if isinstance(source, Path) and not source.exists():
        raise fail(f"no published warehouse at {source}: run `acrm run` first")
    guarded = bool(limits.token or limits.users_file)
    if host not in LOOPBACK_HOSTS and not guarded and not allow_anonymous:
        raise fail(
            f"--host {host} serves the data beyond this machine, and ACRM_API_TOKEN is not set: "
            "set a token, or pass --allow-anonymous if everyone who can reach it may see it"
        )
    auth = "token required" if guarded else "no token (ACRM_API_TOKEN unset)"
    where = safe_url(source) if isinstance(source, str) else source
    progress(f"serving {where} at http://{host}:{port}/  ({auth}; Ctrl-C stops)")
    names = [*(allowed_host or ()), *([host] if host not in ("0.0.0.0", "::") else [])]
    try:
        app = create_app(settings, limits, tuple(names))
    except ValueError as exc:  # a users file that cannot be used: it names the entry
        raise fail(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level="warning")


@app.command("user-token")
def user_token(
    name: Annotated[str, typer.Argument(help="The user's name in the users file")],
    role: Annotated[str, typer.Option(help="analyst (reads) or admin (also writes)")] = "analyst",
) -> None:
    """Make a new random token for a user: prints the token once (give it to the user) and
    the users-file entry holding only its SHA-256 digest (ACRM_USERS_FILE)."""
    import secrets

    # lazy on purpose: serving loads FastAPI and the cube, which this command does not need
    from serving.users import ROLES, token_digest

    if role not in ROLES:
        raise fail(f"--role {role!r}: choose one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    stderr.print(f"token for {name} (shown once, not stored): {token}", highlight=False)
    print(f"  - name: {name}\n    token_sha256: {token_digest(token)}\n    role: {role}")


@app.command()
def report(
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write [default: published/report.html]")
    ] = None,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Write the directors' report: one self-contained HTML file with what to act on."""
    # lazy on purpose: plotly and the cube are only for `acrm report`
    from cubes.report import report_path, write_report

    settings = Settings.load(warehouse)
    target = out or report_path(settings.published)
    try:
        views = write_report(settings.published, target)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    if fmt is Format.json:
        print_json({"path": str(target), "act_on": {v.key: v.finding for v in views}})
        return
    for view in views:
        stderr.print(f"[bold]{view.title}[/bold]: {view.finding}", highlight=False)
    progress(f"report written to {target}")


@app.command("dbt-prepare")
def dbt_prepare() -> None:
    """Parse the dbt project into its manifest (make setup runs this)."""
    os.environ.setdefault("ACRM_WAREHOUSE", str(Settings.load().warehouse))
    # lazy on purpose: Dagster and the definitions take seconds to import
    from pipelines.warehouse.project import prepare_manifest

    path = prepare_manifest()
    progress(f"dbt manifest ready: {path}")


@cube_app.command("query")
def cube_query(
    measures: Annotated[
        str,
        typer.Option(help="Comma-separated measures, e.g. revenue,win_rate,revenue:growth"),
    ],
    rows: Annotated[str, typer.Option(help="Comma-separated row levels")] = "",
    cols: Annotated[str, typer.Option(help="Comma-separated column levels")] = "",
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="LEVEL=V1[,V2], LEVEL!=V or LEVEL=LOW..HIGH (repeatable)"),
    ] = None,
    totals: Annotated[bool, typer.Option(help="Add subtotals and the grand total")] = False,
    top: Annotated[
        str | None,
        typer.Option(help="N:MEASURE[:LEVEL]: keep the N members with the highest value"),
    ] = None,
    bottom: Annotated[
        str | None,
        typer.Option(help="N:MEASURE[:LEVEL]: keep the N members with the lowest value"),
    ] = None,
    drill_down: Annotated[
        str | None,
        typer.Option(help="LEVEL=MEMBER: open a member; the level gives way to the next finer"),
    ] = None,
    drill_up: Annotated[
        str | None, typer.Option(help="LEVEL: the level gives way to the next coarser")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="duckdb (embedded, the default) or atoti (needs its license)")
    ] = "duckdb",
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Slice the cube: measures by row and column levels, with filters, top-N and drills."""
    # lazy on purpose: DuckDB and the cube model are only for the cube commands
    from cubes import QueryError, default_cube, open_engine
    from cubes.atoti_engine import AtotiUnavailableError
    from cubes.postgres_engine import PostgresPublicationError
    from cubes.query import parse_request

    cube = default_cube()
    try:
        query = parse_request(
            cube, measures, rows, cols, filter_, totals, top, bottom, drill_down, drill_up
        )
        if engine not in ("duckdb", "atoti"):
            raise QueryError(f"unknown engine {engine!r}: choose duckdb or atoti")
        result = open_engine(Settings.load(warehouse), engine).query(query)
    except (  # ValueError: a bad ACRM_PUBLISHED
        QueryError,
        ValueError,
        FileNotFoundError,
        AtotiUnavailableError,
        PostgresPublicationError,
    ) as exc:
        raise fail(str(exc)) from None
    print_frame(result, fmt, {name: cube.format_of(name) for name in query.measures})


@cube_app.command("ui")
def cube_ui(warehouse: WarehouseOption = None) -> None:
    """Load the published warehouse into atoti and serve the Atoti UI until Ctrl-C."""
    # lazy on purpose: DuckDB and the cube model are only for the cube commands
    from cubes import ACRM_CUBE
    from cubes.atoti_engine import AtotiEngine, AtotiUnavailableError

    settings = Settings.load(warehouse)
    progress(f"starting atoti and loading {settings.published} ...")
    try:
        engine = AtotiEngine(ACRM_CUBE, settings.published)
    except (AtotiUnavailableError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    stderr.print(f"Atoti UI: {engine.link}  (Ctrl-C to stop)")
    try:
        engine.session.wait()
    except KeyboardInterrupt:
        engine.close()


@cube_app.command("levels")
def cube_levels(fmt: FormatOption = Format.table) -> None:
    """List the cube's levels (dimension.level), coarse to fine in each hierarchy."""
    # lazy on purpose: DuckDB and the cube model are only for the cube commands
    import pyarrow as pa

    from cubes import default_cube

    keys = ("level", "hierarchy", "description")
    rows = [{k: row[k] for k in keys} for row in default_cube().level_catalogue()]
    print_frame(pa.Table.from_pylist(rows), fmt)


@cube_app.command("measures")
def cube_measures(fmt: FormatOption = Format.table) -> None:
    """List the cube's measures with their definitions."""
    # lazy on purpose: DuckDB and the cube model are only for the cube commands
    import pyarrow as pa

    from cubes import default_cube
    from cubes.model import TIME_FUNCTIONS

    rows = [{"measure": m.name, "description": m.description} for m in default_cube().measures]
    rows += [
        {"measure": f"MEASURE:{name}", "description": f"time function: {text}"}
        for name, text in TIME_FUNCTIONS.items()
    ]
    print_frame(pa.Table.from_pylist(rows), fmt)


@cube_app.command("reference")
def cube_reference() -> None:
    """Print docs/reference.md: every measure, level and fact with its definition."""
    # lazy on purpose: the cube model is only for the cube commands
    from cubes import default_cube
    from cubes.reference import reference_markdown

    sys.stdout.write(reference_markdown(default_cube()))


if __name__ == "__main__":
    app()
