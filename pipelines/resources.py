"""Resources shared by every integration: the DuckDB warehouse and the source settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from core.settings import Settings

# DuckDB allows one writer process: every asset that writes the warehouse takes this pool,
# whose limit is 1 in the instance's dagster.yaml (tools/dagster.yaml).
WRITER_POOL = "duckdb_writer"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file the pipeline writes. Readers use the published copy instead."""

    path: str
    lake: str = ""  # the Parquet raw layer's folder; "" is `lake` beside the file

    @property
    def lake_path(self):
        from pathlib import Path

        return Path(self.lake) if self.lake else Path(self.path).parent / "lake"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        from pathlib import Path

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path)
        try:
            yield con
        finally:
            con.close()


class SourcesResource(dg.ConfigurableResource):
    """Where the operational sources are: a folder of files, the CRM's URL and its map
    (a shipped map's name or a path: core.crm_map)."""

    folder: str
    crm_url: str
    crm_map: str = "sample"


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    from core.crm_map import map_reference
    from core.settings import crm_url

    url = crm_url(settings)
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse), lake=str(settings.lake)),
        "sources": SourcesResource(
            folder=str(settings.sources), crm_url=url, crm_map=map_reference(url)
        ),
    }
