"""A throwaway PostgreSQL cluster for tests: Debian's server binaries (tools/ensure-apt
installs them), on loopback, trust authentication, started as the postgres user when the
tests run as root. The fixture `postgres` (tests/conftest.py) starts one per session."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def unavailable() -> str | None:
    """Why no cluster can start here, or None."""
    if not INITDB:
        return "no PostgreSQL server binaries (tools/ensure-apt installs Debian's)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as postgres"
    return None


@contextmanager
def cluster() -> Iterator[tuple[str, int]]:
    """A new cluster until the block ends: (its URL as the postgres user, its port)."""
    bin_dir = Path(INITDB[-1]).parent
    # not under pytest's folder: that one is private to the user running the tests
    data = Path(tempfile.mkdtemp(prefix="acrm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        as_postgres(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(data / "server.log"),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", port
    finally:
        subprocess.run(
            as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


def psql(port: int, sql: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
    )
