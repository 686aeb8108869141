"""Where things live. Every environment difference is read here and nowhere else."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse" / "acrm.duckdb"
DEFAULT_SOURCES = PROJECT_ROOT / "data" / "sources"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Settings:
    """The warehouse file the pipeline writes and the folder of operational sources.

    `--warehouse` / ACRM_WAREHOUSE and `--sources` / ACRM_SOURCES override the defaults.
    Readers (cube, BI tools) never open `warehouse`: they open `published`.
    """

    warehouse: Path
    sources: Path

    @classmethod
    def load(
        cls, warehouse: str | Path | None = None, sources: str | Path | None = None
    ) -> Settings:
        return cls(
            warehouse=Path(warehouse or os.environ.get("ACRM_WAREHOUSE") or DEFAULT_WAREHOUSE)
            .expanduser()
            .resolve(),
            sources=Path(sources or os.environ.get("ACRM_SOURCES") or DEFAULT_SOURCES)
            .expanduser()
            .resolve(),
        )

    @property
    def lake(self) -> Path:
        """The raw layer as Hive-partitioned Parquet (`lake/raw/<table>/`), for any engine;
        ACRM_LAKE moves it, by default beside the warehouse file."""
        return Path(os.environ.get("ACRM_LAKE") or self.warehouse.parent / "lake").resolve()

    @property
    def published(self) -> Path:
        """The read-only copy of the last good build, beside the warehouse file."""
        return self.warehouse.parent / "published" / "acrm.duckdb"

    @property
    def published_source(self) -> Path | str:
        """What the readers (the HTTP API, the cube) answer from: ACRM_PUBLISHED, a
        postgresql:// URL of the PostgreSQL publication (`acrm publish --to`), or by
        default the published DuckDB copy."""
        url = (os.environ.get("ACRM_PUBLISHED") or "").strip()
        if not url:
            return self.published
        if not url.startswith(POSTGRES_SCHEMES):
            raise ValueError(
                f"ACRM_PUBLISHED={url!r} is not a PostgreSQL URL: give postgresql://user@host/db "
                "(the database `acrm publish --to` wrote), or unset it to read the DuckDB copy"
            )
        return url


def crm_url(settings: Settings) -> str:
    """The operational CRM: ACRM_CRM_URL (any SQLAlchemy-style URL) or the sample SQLite file."""
    return os.environ.get("ACRM_CRM_URL") or f"sqlite://{settings.sources / 'crm' / 'crm.sqlite'}"


def publish_to() -> str | None:
    """ACRM_PUBLISH_TO: a PostgreSQL URL every good build is also published to (for BI
    tools on a shared server), or None."""
    return (os.environ.get("ACRM_PUBLISH_TO") or "").strip() or None


def call_center_timezone() -> str:
    """The call center's IANA time zone: CDR days and hours are read in it."""
    return os.environ.get("ACRM_CALL_CENTER_TZ") or "Europe/Moscow"


def cdr_times_in_utc() -> bool:
    """True when the PBX writes CDR times in UTC (cdr.conf `usegmtime=yes`): ACRM_CDR_UTC=1."""
    return (os.environ.get("ACRM_CDR_UTC") or "").strip().lower() in ("1", "true", "yes")


def reporting_currency() -> str:
    """The currency money is reported in: ACRM_CURRENCY, RUB by default."""
    return (os.environ.get("ACRM_CURRENCY") or "RUB").strip().upper()


def fx_rates_setting() -> dict[str, float]:
    """ACRM_FX_RATES="USD=92.5,EUR=100.1": units of the reporting currency per unit of each."""
    rates = {}
    for part in (os.environ.get("ACRM_FX_RATES") or "").split(","):
        if "=" in part:
            code, rate = part.split("=", 1)
            try:
                rates[code.strip().upper()] = float(rate)
            except ValueError as exc:
                raise ValueError(
                    f"ACRM_FX_RATES: {part.strip()!r} is not CODE=rate (e.g. USD=92.5)"
                ) from exc
    return rates


def business_timezone() -> str:
    """The IANA zone CRM times are reported in: ACRM_TIMEZONE, else the call center's.
    Times a CRM writes with an offset or as Unix seconds are converted to it."""
    return os.environ.get("ACRM_TIMEZONE") or call_center_timezone()


def reload_unchanged_days() -> bool:
    """ACRM_RELOAD=1: land every daily file again, even a day whose files did not change
    since it landed (after a contract change, say)."""
    return (os.environ.get("ACRM_RELOAD") or "").strip().lower() in ("1", "true", "yes")


ENGINES = ("duckdb", "spark")


def warehouse_engine() -> str:
    """ACRM_ENGINE: what builds the marts, `duckdb` (the default, in the warehouse file) or
    `spark` (pipelines/warehouse/spark.py; the marts are then loaded into the file)."""
    engine = (os.environ.get("ACRM_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"ACRM_ENGINE={engine!r}: choose one of {', '.join(ENGINES)}")
    return engine


def full_build_forced() -> bool:
    """ACRM_FULL_BUILD=1: dbt rebuilds every model, not only those downstream of the
    sources that landed rows since the last good build."""
    return (os.environ.get("ACRM_FULL_BUILD") or "").strip().lower() in ("1", "true", "yes")


def _number(name: str, default: float, kind: type = int, low: float = 1) -> float:
    """A numeric setting; a value that is no number, or below `low`, is an error naming it."""
    text = (os.environ.get(name) or "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(
            f"{name}={text!r} is not a number; unset it or give e.g. {default}"
        ) from None
    if value < low:
        raise ValueError(f"{name}={text!r} must be at least {low}")
    return value


@dataclass(frozen=True)
class ServeSettings:
    """What `acrm serve` allows one request and the whole server (each a 4xx or 503 that
    names the setting when crossed), and how it protects the published data."""

    token: str = ""  # ACRM_API_TOKEN: every route but /health, / and /static needs it
    users_file: str = ""  # ACRM_USERS_FILE: users with hashed tokens, roles, access policies
    max_cells: int = 2_000_000  # cells (rows x columns) in one answer
    max_filters: int = 50  # filters in one query
    max_filter_values: int = 1_000  # values in one filter
    max_body_bytes: int = 65_536  # a POST body
    memory_limit: str = "2GB"  # DuckDB's, for all queries together
    threads: int = 2  # DuckDB's threads
    statement_seconds: float = 30.0  # a query running longer is interrupted
    connections: int = 3  # read-only connections: queries running at once
    cache_bytes: int = 256 * 2**20  # answers kept for repeated queries
    min_cell_customers: int = 5  # a cell of fewer customers hides its customer measures

    @classmethod
    def load(cls) -> ServeSettings:
        return cls(
            token=os.environ.get("ACRM_API_TOKEN") or "",
            users_file=os.environ.get("ACRM_USERS_FILE") or "",
            max_cells=_number("ACRM_SERVE_MAX_CELLS", cls.max_cells),
            max_filters=_number("ACRM_SERVE_MAX_FILTERS", cls.max_filters),
            max_filter_values=_number("ACRM_SERVE_MAX_FILTER_VALUES", cls.max_filter_values),
            max_body_bytes=_number("ACRM_SERVE_MAX_BODY_BYTES", cls.max_body_bytes),
            memory_limit=os.environ.get("ACRM_SERVE_MEMORY_LIMIT") or cls.memory_limit,
            threads=_number("ACRM_SERVE_THREADS", cls.threads),
            statement_seconds=_number("ACRM_SERVE_TIMEOUT", cls.statement_seconds, float, 0.1),
            connections=_number("ACRM_SERVE_CONNECTIONS", cls.connections),
            cache_bytes=_number("ACRM_SERVE_CACHE_MB", cls.cache_bytes // 2**20, int, 0) * 2**20,
            min_cell_customers=_number("ACRM_MIN_CELL_CUSTOMERS", cls.min_cell_customers),
        )


def publish_key() -> bytes:
    """The key of the published copy's customer-id hashes (HMAC-SHA256): ACRM_PUBLISH_KEY,
    or a random key kept beside the warehouse (publisher), so hashes are stable across
    builds and unknown to readers."""
    return (os.environ.get("ACRM_PUBLISH_KEY") or "").encode()


def published_builds() -> int:
    """Parquet build folders the publisher keeps: this build's and the ones before, for
    readers still in them (ACRM_PUBLISHED_BUILDS, at least 1)."""
    return int(_number("ACRM_PUBLISHED_BUILDS", 2))
