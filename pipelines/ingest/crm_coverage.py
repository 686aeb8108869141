"""`acrm crm check`: what a CRM map finds in its source, before anything lands.

Every entity is read through the map as landing would read it (no warehouse is written):
rows per entity, the notes the audit would carry, the entities that are absent or fail,
and the marts those leave empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.crm_map import CrmMap, MapError
from core.crm_schema import ENTITIES, NEEDED_BY
from pipelines.ingest.crm_source import open_source, read_entity
from pipelines.ingest.files import SourceError


@dataclass(frozen=True)
class EntityCoverage:
    entity: str
    status: str  # mapped | empty | absent | error
    rows: int
    detail: str  # notes, why it is absent, or the error

    @property
    def empty(self) -> bool:
        return self.status != "mapped"

    @property
    def empties(self) -> tuple[str, ...]:
        """What is empty in the warehouse because of this entity."""
        return NEEDED_BY.get(self.entity, ()) if self.empty else ()


def coverage(crm_map: CrmMap, url: str) -> list[EntityCoverage]:
    """Each canonical entity as the map reads it from the source at `url`."""
    source = open_source(url)
    found = []
    for name in ENTITIES:
        try:
            read = read_entity(crm_map, name, source)
        except (MapError, SourceError) as exc:
            found.append(EntityCoverage(name, "error", 0, str(exc)))
            continue
        if read.absent:
            found.append(EntityCoverage(name, "absent", 0, read.absent))
            continue
        rows = read.rows.filter(~read.rows["_gone"]).height if read.rows.height else 0
        notes = "; ".join(f"{note} ({count})" for note, count in sorted(read.notes.items()))
        found.append(EntityCoverage(name, "mapped" if rows else "empty", rows, notes))
    return found
