"""CRM maps: a YAML file that says how one CRM's tables become ACRM's canonical entities.

A map is validated before anything lands: every error names the map file, the key and the
problem, and suggests the nearest valid name. The shipped maps are in core/crm_maps/; a
map of one's own is any path (ACRM_CRM_MAP=path/to/map.yml). See README, "Bring your own
CRM", and `acrm crm init --from hubspot` for a starting point.

An entity's map:

    deals:
      table: deal                  # a source table or file; or `from:` an SQL FROM clause
      filter: "not is_deleted"     # optional: which source rows are the entity's
      cursor: _fivetran_synced     # optional: the column incremental extraction follows
      deletes: absent              # absent (a key that disappears is deleted), never, or
                                   # an SQL condition that is true for a deleted row
      optional: true               # the table may be missing: the entity is then absent
      fallback: {...}              # or another definition used when the table is missing
      note: "SQL text"             # optional: rows where it is not null are counted in the
                                   # audit under that text
      columns:                     # canonical column: source column, expression or map;
        amount: property_amount    #   a canonical column left out is taken from the
        created_at: {expr: "coalesce(a, b)"}  # source column of the same name, if any
        status: {column: dealstage, values: {closedwon: won}, default: open}

An entity the CRM does not have is `absent` (or left out).
"""

from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

with warnings.catch_warnings():  # sqlglot's optional Rust tokenizer announces its deprecation
    warnings.simplefilter("ignore", DeprecationWarning)
    # lazy on purpose: sqlglot is only needed to check a map's SQL
    import sqlglot
    from sqlglot import exp

from core.crm_schema import ENTITIES, UPDATED_AT, Entity

MAPS_DIR = Path(__file__).resolve().parent / "crm_maps"
TOP_KEYS = ("name", "description", "tables", "entities")
TABLE_KEYS = ("optional", "columns", "optional_columns")
ENTITY_KEYS = (
    "table",
    "from",
    "filter",
    "cursor",
    "deletes",
    "optional",
    "fallback",
    "note",
    "columns",
    "records",
)
SPEC_KEYS = ("expr", "column", "values", "default")
DELETE_MODES = ("absent", "never")
DIALECT = "duckdb"


class MapError(ValueError):
    """A map that cannot work: names the file, the key, the problem and a suggestion."""

    def __init__(self, path: str | Path, key: str, problem: str, names=()) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        hint = nearest(problem_name(problem), names)
        super().__init__(f"{path}: {key}: {problem}{hint}")


def problem_name(problem: str) -> str:
    """The quoted name in a problem text, which the suggestion is nearest to."""
    return problem.split("'")[1] if problem.count("'") >= 2 else ""


def nearest(name: str, names) -> str:
    names = [str(n) for n in names]
    if not name or not names:
        return ""
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else f" (valid: {', '.join(names)})"


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is read: a source column, an SQL expression, or a value
    map over a source column (`default` for values the map does not list)."""

    target: str
    column: str | None = None
    expr: str | None = None
    values: dict[str, object] | None = None
    default: object = None
    has_default: bool = False

    def sql(self) -> str:
        if self.expr is not None:
            return f"({self.expr})"
        if self.values is None:
            return quote(self.column or self.target)
        whens = " ".join(f"when {literal(k)} then {literal(v)}" for k, v in self.values.items())
        otherwise = literal(self.default) if self.has_default else "null"
        return f"(case cast({quote(self.column)} as varchar) {whens} else {otherwise} end)"


@dataclass(frozen=True)
class EntityMap:
    entity: Entity
    key_path: str  # where in the map file, for messages: "entities.deals"
    table: str | None = None
    from_sql: str | None = None
    filter: str | None = None
    cursor: str | None = None
    deletes: str = "absent"
    optional: bool = False
    fallback: EntityMap | None = None
    note: str | None = None
    records: str | None = None  # for JSON exports: the path to the records ("result.items")
    columns: dict[str, ColumnSpec] = field(default_factory=dict)

    @property
    def relation(self) -> str:
        return f"({self.from_sql})" if self.from_sql else quote(self.table)

    def tables(self) -> list[str]:
        """The source tables the entity reads."""
        if self.table:
            return [self.table]
        parsed = sqlglot.parse_one(f"select * from {self.from_sql}", read=DIALECT)
        ctes = {c.alias_or_name for c in parsed.find_all(exp.CTE)}
        names = [t.name for t in parsed.find_all(exp.Table) if t.name not in ctes]
        return list(dict.fromkeys(names))

    def expressions(self) -> dict[str, str]:
        """Every SQL fragment over the source rows, by the map key it came from."""
        found = {f"{self.key_path}.columns.{t}": s.sql() for t, s in self.columns.items()}
        for name in ("filter", "note"):
            if getattr(self, name):
                found[f"{self.key_path}.{name}"] = getattr(self, name)
        if self.cursor:
            found[f"{self.key_path}.cursor"] = quote(self.cursor)
        if self.deletes not in DELETE_MODES:
            found[f"{self.key_path}.deletes"] = self.deletes
        return found


@dataclass(frozen=True)
class SourceTable:
    """What a map says of one source table: whether it may be missing (then it is empty,
    with `columns`), and which of its columns may be missing (then they are null)."""

    optional: bool = False
    columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrmMap:
    name: str
    path: Path
    description: str
    entities: dict[str, EntityMap]
    tables: dict[str, SourceTable] = field(default_factory=dict)

    def entity(self, name: str) -> EntityMap | None:
        """The entity's map, or None when the CRM does not have it."""
        return self.entities.get(name)


def quote(identifier: str | None) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'


def literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def shipped_maps() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MAPS_DIR.glob("*.yml"))}


def default_map_name(url: str) -> str:
    """The map a CRM URL implies when ACRM_CRM_MAP is not set."""
    return "csv" if url.startswith("csv://") else "sample"


def map_reference(url: str) -> str:
    return os.environ.get("ACRM_CRM_MAP") or default_map_name(url)


def resolve(reference: str) -> Path:
    """A shipped map's name, or a path to a map file."""
    maps = shipped_maps()
    if reference in maps:
        return maps[reference]
    path = Path(reference).expanduser()
    if path.suffix in (".yml", ".yaml") or path.exists():
        if not path.exists():
            raise MapError(path, "ACRM_CRM_MAP", "no such map file")
        return path.resolve()
    raise MapError(
        "ACRM_CRM_MAP", reference, f"'{reference}' is no shipped map and no .yml file", maps
    )


def load(reference: str) -> CrmMap:
    """Read and validate a map (a shipped name or a path)."""
    path = resolve(reference)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MapError(path, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MapError(path, "(file)", "a map is a mapping with `name` and `entities`")
    _only(path, "(top level)", document, TOP_KEYS)
    entities = document.get("entities")
    if not isinstance(entities, dict) or not entities:
        raise MapError(path, "entities", "missing: a map lists its entities")
    parsed = {}
    for name, body in entities.items():
        if name not in ENTITIES:
            raise MapError(path, "entities", f"unknown entity '{name}'", ENTITIES)
        if body == "absent" or body is None:
            continue
        parsed[name] = _entity(path, ENTITIES[name], body, f"entities.{name}")
    tables = {}
    for table, body in (document.get("tables") or {}).items():
        if not isinstance(body, dict):
            raise MapError(path, f"tables.{table}", "expected a mapping (optional, columns)")
        _only(path, f"tables.{table}", body, TABLE_KEYS)
        tables[str(table)] = SourceTable(
            bool(body.get("optional", False)),
            tuple(body.get("columns") or ()),
            tuple(body.get("optional_columns") or ()),
        )
    name = str(document.get("name") or path.stem)
    return CrmMap(name, path, str(document.get("description", "")), parsed, tables)


def _only(path: Path, where: str, body: dict, allowed) -> None:
    for key in body:
        if key not in allowed:
            raise MapError(path, where, f"unknown key '{key}'", allowed)


def _entity(path: Path, entity: Entity, body: object, where: str) -> EntityMap:
    if not isinstance(body, dict):
        raise MapError(path, where, "expected `absent` or a mapping with `table` or `from`")
    _only(path, where, body, ENTITY_KEYS)
    if bool(body.get("table")) == bool(body.get("from")):
        raise MapError(path, where, "give exactly one of `table` and `from`")
    deletes = str(body.get("deletes", "absent"))
    columns = {}
    for target, spec in (body.get("columns") or {}).items():
        if target not in entity.names:
            raise MapError(
                path,
                f"{where}.columns",
                f"unknown column '{target}' of {entity.name}",
                entity.names,
            )
        columns[target] = _spec(path, f"{where}.columns.{target}", target, spec)
    fallback = body.get("fallback")
    mapped = EntityMap(
        entity=entity,
        key_path=where,
        table=body.get("table"),
        from_sql=body.get("from"),
        filter=body.get("filter"),
        cursor=body.get("cursor"),
        deletes=deletes,
        optional=bool(body.get("optional", False)),
        fallback=_entity(path, entity, fallback, f"{where}.fallback") if fallback else None,
        note=body.get("note"),
        records=body.get("records"),
        columns=columns,
    )
    for key, sql in mapped.expressions().items():
        parse_expression(path, key, sql)
    if mapped.from_sql:
        parse_expression(path, f"{where}.from", f"select * from {mapped.from_sql}")
    return mapped


def _spec(path: Path, where: str, target: str, spec: object) -> ColumnSpec:
    if isinstance(spec, str):
        return ColumnSpec(target, column=spec)
    if isinstance(spec, bool | int | float):
        return ColumnSpec(target, expr=literal(spec))
    if not isinstance(spec, dict):
        raise MapError(path, where, "expected a source column, {expr: ...} or a value map")
    _only(path, where, spec, SPEC_KEYS)
    if "expr" in spec:
        return ColumnSpec(target, expr=str(spec["expr"]))
    if "values" in spec:
        if not spec.get("column") or not isinstance(spec["values"], dict):
            raise MapError(path, where, "a value map needs `column` and a mapping `values`")
        return ColumnSpec(
            target,
            column=str(spec["column"]),
            values={str(k): v for k, v in spec["values"].items()},
            default=spec.get("default"),
            has_default="default" in spec,
        )
    if spec.get("column"):
        return ColumnSpec(target, column=str(spec["column"]))
    raise MapError(path, where, "expected `column`, `expr` or `values`")


def parse_expression(path: Path | str, key: str, sql: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read=DIALECT)
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise MapError(path, key, f"not valid SQL ({first}): {sql}") from exc


def column_references(sql: str) -> set[str]:
    """Source columns an SQL fragment reads (unqualified names, as DuckDB resolves them)."""
    parsed = sqlglot.parse_one(sql, read=DIALECT)
    return {c.name for c in parsed.find_all(exp.Column) if not c.table}


def check_columns(crm_map: CrmMap, mapped: EntityMap, available: list[str]) -> None:
    """Every column the map reads exists in the source relation."""
    lowered = {c.lower() for c in available}
    for key, sql in mapped.expressions().items():
        for name in sorted(column_references(sql)):
            if name.lower() not in lowered:
                source = mapped.table or "the `from` relation"
                raise MapError(crm_map.path, key, f"unknown column '{name}' in {source}", available)


def init_text(reference: str) -> str:
    """A starting map: the shipped map's text with a header saying what to change."""
    path = resolve(reference)
    header = (
        f"# A CRM map for ACRM, started from the shipped `{path.stem}` map.\n"
        "# Edit table and column names to your CRM's, then: acrm crm check\n"
        "# Use it with ACRM_CRM_MAP=path/to/this.yml beside ACRM_CRM_URL.\n"
    )
    return header + path.read_text(encoding="utf-8")


def canonical_select(mapped: EntityMap, available: list[str]) -> str:
    """The SELECT over the source relation `src` that yields the entity's canonical rows.

    Columns the map leaves out come from the source column of the same name, or are null.
    Each is normalised by its kind (see core.crm_schema); `_gone` marks a deleted row,
    `_cursor_raw` carries the cursor as the source wrote it, `_note` the audit note.
    """
    lowered = {c.lower() for c in available}
    entity = mapped.entity
    parts = []
    for name, kind in {**entity.columns, UPDATED_AT: "ts"}.items():
        spec = mapped.columns.get(name)
        if spec is not None:
            sql = spec.sql()
        elif name == UPDATED_AT and mapped.cursor:
            sql = quote(mapped.cursor)
        elif name == "source_id":  # the CRM's own id, as text, beside the integer key
            key = mapped.columns.get(entity.key)
            sql = key.sql() if key else quote(entity.key)
        elif name.lower() in lowered:
            sql = quote(name)
        else:
            sql = "null"
        parts.append(f"{KIND_SQL[kind].format(sql)} as {quote(name)}")
    gone = "false" if mapped.deletes in DELETE_MODES else f"acrm_bool({mapped.deletes})"
    cursor = f"cast({quote(mapped.cursor)} as varchar)" if mapped.cursor else "null"
    note = f"cast(({mapped.note}) as varchar)" if mapped.note else "cast(null as varchar)"
    parts += [f"{gone} as _gone", f"{cursor} as _cursor_raw", f"{note} as _note"]
    return "select " + ", ".join(parts) + " from src"


# How a value of each kind is normalised (DuckDB macros from pipelines.ingest.crm_source).
KIND_SQL = {
    "id": "acrm_key({})",
    "ts": "acrm_ts({})",
    "date": "acrm_date({})",
    "bool": "acrm_bool({})",
    "text": "cast({} as varchar)",
    "money": "acrm_money({})",
    "int": "{}",
}
