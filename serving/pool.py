"""A small pool of read-only engines on the publication, so one slow query does not hold
up the member lists or other queries. The publication is the DuckDB copy (default) or the
PostgreSQL one (ACRM_PUBLISHED=postgresql://..., cubes/postgres_engine.py).

Each engine has its own DuckDB connection to the one database instance DuckDB keeps per
file and process (so memory_limit and threads bound all of them together); they share one
result cache bounded in bytes. A request that finds every engine busy waits a little, then
gets 503 with Retry-After.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.settings import ServeSettings
from cubes.duckdb_engine import Bounds, DuckDBEngine, ResultCache
from cubes.model import Cube
from cubes.postgres_engine import PostgresEngine

WAIT_SECONDS = 10.0  # how long a request waits for a free engine before 503


class BusyError(RuntimeError):
    """Every engine is answering another request."""


class EnginePool:
    def __init__(self, cube: Cube, source: Path | str, serve: ServeSettings):
        """`source`: the published DuckDB file, or a PostgreSQL publication's URL."""
        self.cube, self.source, self.size = cube, source, serve.connections
        self.bounds = Bounds(
            memory_limit=serve.memory_limit,
            threads=serve.threads,
            statement_seconds=serve.statement_seconds,
            max_cells=serve.max_cells,
        )
        self.cache = ResultCache(max_bytes=serve.cache_bytes)
        self._free: queue.Queue[DuckDBEngine] = queue.Queue()
        self._made = 0
        self._lock = threading.Lock()

    @contextmanager
    def engine(self, wait: float = WAIT_SECONDS) -> Iterator[DuckDBEngine]:
        """A free engine for the block (FileNotFoundError without a publication)."""
        engine = self._take(wait)
        try:
            yield engine
        finally:
            self._free.put(engine)

    def _take(self, wait: float) -> DuckDBEngine:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:  # never more than `size` engines
            make = self._made < self.size
            self._made += make
        if make:
            try:
                return self._make()
            except BaseException:
                with self._lock:
                    self._made -= 1
                raise
        try:
            return self._free.get(timeout=wait)
        except queue.Empty:
            raise BusyError(
                f"all {self.size} query connections are busy (ACRM_SERVE_CONNECTIONS); "
                "retry shortly"
            ) from None

    def _make(self) -> DuckDBEngine:
        if isinstance(self.source, str):
            return PostgresEngine(self.cube, self.source, self.cache, self.bounds)
        return DuckDBEngine(self.cube, self.source, self.cache, self.bounds)
