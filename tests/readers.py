"""Reading one whole file through a stream source's reader, as a run reads a new file."""

from pathlib import Path

from pipelines.ingest.files import NewText, RawBatch, SourceError


def read_whole(source, path: Path, folder: Path) -> RawBatch:
    """The file's batch; the reader's error for it raised as SourceError."""
    (batch,) = source.parse([NewText.whole(path)], folder)
    if isinstance(batch, str):
        raise SourceError(batch)
    return batch
