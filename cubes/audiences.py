"""Audiences: customers chosen by the cube's customer levels and by their scores, with a
random holdout kept aside, written where a campaign can use them: CSV and Parquet beside the
publication, and the table `acrm_audience_members` in the CRM's own database.

Only ids leave the warehouse: the CRM's customer id (dim_customers.customer_key), the
scores that chose the customer and the group. Contact data stays in the CRM.

The holdout is drawn from a hash of the audience's name, the build and the customer, so
the same build gives the same members and groups every time, and writing again replaces the
audience's rows in one transaction with identical rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from core.publication import read_build
from cubes import ACRM_CUBE

CRM_TABLE = "acrm_audience_members"
MAX_HOLDOUT = 0.5
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
LAST_CONTACT = """(
    select customer_key, max(at) as last_contact from (
        select customer_key, ordered_at as at from marts.fct_orders
        union all select customer_key, started_at from marts.fct_calls
        union all select customer_key, opened_at from marts.fct_tickets
    ) group by customer_key
)"""
# score -> (its SQL over the joined customer row, the table it needs, what it is)
SCORES = {
    "churn_probability": ("churn.churn_probability", "mining.customer_churn",
                          "probability of no paid order in the next 90 days"),
    "clv": ("clv.clv", "mining.customer_clv", "customer lifetime value over 52 weeks"),
    "p_alive": ("clv.p_alive", "mining.customer_clv", "probability the customer is still active"),
    "predicted_value": ("value.predicted_value", "mining.new_customer_value",
                        "first-year value predicted at the first purchase"),
    "days_since_contact": ("datediff('day', contact.last_contact, {built})", None,
                           "days since the last order, call or ticket"),
}  # fmt: skip
JOINS = {
    "mining.customer_churn": "churn",
    "mining.customer_clv": "clv",
    "mining.new_customer_value": "value",
}
THRESHOLD = re.compile(r"^\s*([a-z_]+(?::[a-z0-9_-]+)?)\s*(>=|<=|>|<|=)\s*(-?[0-9.]+)\s*$")


class AudienceError(ValueError):
    """An audience cannot be made or written; the message names the part and what to do."""


@dataclass(frozen=True)
class Rule:
    """What selects an audience: level filters (LEVEL=V1,V2 or LEVEL!=V) and thresholds."""

    levels: tuple[str, ...] = ()
    thresholds: tuple[str, ...] = ()
    holdout: float = 0.0


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise AudienceError(
            f"audience name {name!r}: use letters, digits, '-' and '_' (at most 64)"
        )
    return name


def _customer_levels() -> dict[str, object]:
    return {
        f"customer.{level.name}": level
        for hierarchy in ACRM_CUBE.dimension("customer").hierarchies
        for level in hierarchy.levels
    }


def _level_condition(text: str, tables: set[str]) -> tuple[str, str | None]:
    """A level filter as SQL over the joined row, and the relation it needs."""
    match = re.match(r"^\s*(customer\.[a-z_]+)\s*(!=|=)\s*(.+)$", text)
    levels = _customer_levels()
    if not match or match.group(1) not in levels:
        raise AudienceError(
            f"filter {text!r}: write LEVEL=V1[,V2] or LEVEL!=V with a customer level: "
            + ", ".join(levels)
        )
    level = levels[match.group(1)]
    if level.relation and level.relation not in tables:
        raise AudienceError(f"filter {text!r}: {level.relation} is not built in this warehouse")
    alias = f"lvl_{level.name}" if level.relation else "customers"
    values = [v.strip().replace("'", "''") for v in match.group(3).split(",")]
    listed = ", ".join(f"'{v}'" for v in values)
    negate = "not " if match.group(2) == "!=" else ""
    column = f"cast({alias}.{level.column} as varchar)"
    return f"{negate}coalesce({column} in ({listed}), false)", level.relation


def _threshold(text: str, tables: set[str]) -> tuple[str, str, str | None]:
    """A threshold as (score, SQL condition, the table it needs)."""
    match = THRESHOLD.match(text)
    if not match:
        raise AudienceError(f"threshold {text!r}: write SCORE>VALUE, e.g. churn_probability>0.6")
    score, op, value = match.groups()
    if score.startswith("uplift:"):
        return _uplift_threshold(text, score, f"{op} {float(value)}", tables)
    if score not in SCORES:
        raise AudienceError(
            f"threshold {text!r}: unknown score {score!r}; the scores are: " + ", ".join(SCORES)
        )
    table = SCORES[score][1]
    if table and table not in tables:
        raise AudienceError(f"threshold {text!r}: {table} is not built in this warehouse")
    return score, f"({score} {op} {float(value)})", table


def _uplift_threshold(text: str, score: str, comparison: str, tables: set[str]):
    """uplift:<campaign key>: the customer's predicted uplift for that campaign."""
    key = score.split(":", 1)[1]
    if not key.lstrip("-").isdigit():
        raise AudienceError(
            f"threshold {text!r}: write uplift:<campaign key>, e.g. uplift:16>0.05 "
            "(the keys are in mining.customer_uplift's campaign_key)"
        )
    if "mining.customer_uplift" not in tables:
        raise AudienceError(f"threshold {text!r}: mining.customer_uplift is not built")
    column = f"uplift_{key.replace('-', 'm')}"
    return column, f"({column} {comparison})", f"uplift:{int(key)}"


def select(con: duckdb.DuckDBPyConnection, name: str, rule: Rule) -> tuple[pd.DataFrame, dict]:
    """The audience's members (customer_id, the scores named, group) and what made it."""
    check_name(name)
    if not 0 <= rule.holdout <= MAX_HOLDOUT:
        raise AudienceError(
            f"--holdout {rule.holdout:.0%}: keep at most {MAX_HOLDOUT:.0%} aside, or the "
            "campaign reaches fewer customers than it leaves out"
        )
    tables = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}  # fmt: skip
    build = read_build(con)
    filters = [_level_condition(f, tables) for f in rule.levels]
    thresholds = [_threshold(t, tables) for t in rule.thresholds]
    scores = list(dict.fromkeys(score for score, _, _ in thresholds))
    sql = _selection_sql(filters, thresholds, scores, build["built_at"])
    members = con.execute(sql).df()
    members["group"] = [
        "holdout" if _draw(name, build["build_id"], c) < rule.holdout else "treatment"
        for c in members["customer_id"]
    ]
    about = {
        "audience": name,
        "levels": list(rule.levels),
        "thresholds": list(rule.thresholds),
        "holdout_share": rule.holdout,
        "size": len(members),
        "holdout_size": int((members["group"] == "holdout").sum()),
        "build_id": build["build_id"],
        "created_at": str(build["built_at"]),
    }
    return members, about


def _selection_sql(filters, thresholds, scores: list[str], built_at) -> str:
    joins = []
    for relation in dict.fromkeys(r for _, r in filters if r):
        level = next(lv for lv in _customer_levels().values() if lv.relation == relation)
        alias = f"lvl_{level.name}"
        joins.append(f"left join {relation} as {alias} on customers.customer_key = "
                     f"{alias}.customer_key")  # fmt: skip
    for table in dict.fromkeys(t for _, _, t in thresholds if t):
        if table.startswith("uplift:"):  # one campaign's uplift, as its own relation
            key = int(table.split(":")[1])
            alias = f"uplift_{str(key).replace('-', 'm')}"
            table = f"(select customer_key, uplift from mining.customer_uplift " \
                    f"where campaign_key = {key})"  # fmt: skip
            joins.append(f"left join {table} as {alias} on customers.customer_key = "
                         f"{alias}.customer_key")  # fmt: skip
            continue
        joins.append(f"left join {table} as {JOINS[table]} on customers.customer_key = "
                     f"{JOINS[table]}.customer_key")  # fmt: skip
    if "days_since_contact" in scores:
        joins.append(f"left join {LAST_CONTACT} as contact "
                     "on customers.customer_key = contact.customer_key")  # fmt: skip
    built = f"timestamp '{built_at}'"
    columns = "".join(
        f", {SCORES[s][0].format(built=built) if s in SCORES else s + '.uplift'} as {s}"
        for s in scores
    )
    where = " and ".join(["customers.customer_key <> -1"] + [c for c, _ in filters])
    inner = f"select customers.customer_key as customer_id{columns} from marts.dim_customers " \
            f"as customers {' '.join(joins)} where {where}"  # fmt: skip
    kept = " and ".join(c for _, c, _ in thresholds) or "true"
    return f"select * from ({inner}) where {kept} order by customer_id"


def _draw(name: str, build_id: str, customer_id: object) -> float:
    """A uniform number in [0, 1) from the audience, the build and the customer."""
    digest = hashlib.sha256(f"{name}|{build_id}|{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def folder_of(published: Path) -> Path:
    """Where audiences are written: `audiences/` beside the published copy."""
    return published.parent / "audiences"


def write_files(folder: Path, members: pd.DataFrame, about: dict) -> list[Path]:
    """NAME.csv, NAME.parquet and NAME.json in `folder`, each replaced whole."""
    folder.mkdir(parents=True, exist_ok=True)
    name = about["audience"]
    written = []
    for suffix, write in (
        (".csv", lambda p: members.to_csv(p, index=False)),
        (".parquet", lambda p: members.to_parquet(p, index=False)),
        (".json", lambda p: p.write_text(json.dumps(about, indent=2) + "\n")),
    ):
        path = folder / f"{name}{suffix}"
        temporary = path.with_name(path.name + ".tmp")
        write(temporary)
        os.replace(temporary, path)
        written.append(path)
    return written


def listing(folder: Path) -> list[dict]:
    """Every audience written to `folder`: its size, holdout and creation."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def read(folder: Path, name: str) -> tuple[pd.DataFrame, dict]:
    """An audience written to `folder`: its members and what made it."""
    check_name(name)
    about, members = folder / f"{name}.json", folder / f"{name}.parquet"
    if not (about.exists() and members.exists()):
        known = ", ".join(p.stem for p in sorted(folder.glob("*.json"))) or "none yet"
        raise AudienceError(
            f"no audience {name!r} in {folder} (audiences: {known}); make it with "
            "`acrm audience create`"
        )
    return pd.read_parquet(members), json.loads(about.read_text())


def write_crm(url: str, members: pd.DataFrame, about: dict) -> int:
    """The audience's rows in the CRM's acrm_audience_members, replacing its earlier rows in
    one transaction. `url`: the CRM's database (sqlite://path or postgresql://...)."""
    import sqlalchemy as sa

    engine_url, schema = _database_url(url)
    table = f"{schema}.{CRM_TABLE}" if schema else CRM_TABLE
    rows = [
        {"audience": about["audience"], "customer_id": str(c), "member_group": g,
         "created_at": about["created_at"], "build_id": about["build_id"]}
        for c, g in zip(members["customer_id"], members["group"], strict=True)
    ]  # fmt: skip
    engine = sa.create_engine(engine_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                f"create table if not exists {table} (audience varchar(64) not null, "
                "customer_id varchar(64) not null, member_group varchar(16) not null, "
                "created_at varchar(40) not null, build_id varchar(64) not null)"))  # fmt: skip
            connection.execute(
                sa.text(f"delete from {table} where audience = :audience"),
                {"audience": about["audience"]},
            )
            if rows:
                connection.execute(sa.text(
                    f"insert into {table} (audience, customer_id, member_group, created_at, "
                    "build_id) values (:audience, :customer_id, :member_group, :created_at, "
                    ":build_id)"), rows)  # fmt: skip
    except sa.exc.SQLAlchemyError as exc:
        raise AudienceError(f"cannot write {table} to the CRM: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0]}") from None  # fmt: skip
    finally:
        engine.dispose()
    return len(rows)


def _database_url(url: str) -> tuple[str, str]:
    """SQLAlchemy's URL for the CRM's database, and the schema after '#'."""
    base, _, schema = url.partition("#")
    if base.startswith("sqlite://"):
        return "sqlite:///" + base.removeprefix("sqlite://"), ""
    if base.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + base.split("://", 1)[1], schema
    raise AudienceError(
        f"the CRM at {base.split('://')[0]}:// is not a database ACRM can write to: audiences "
        "go back to SQLite or PostgreSQL; use the CSV or Parquet file for any other CRM"
    )
