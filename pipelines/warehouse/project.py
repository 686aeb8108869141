"""The dbt project as Dagster sees it. Its manifest is prepared at setup, never at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from core.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# dbt is installed in the same environment as this interpreter, whether or not it is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


class ManifestMissingError(RuntimeError):
    pass


def require_manifest() -> Path:
    path = Path(dbt_project.manifest_path)
    if not path.exists():
        raise ManifestMissingError(
            f"the dbt manifest {path} is missing: run `make setup` (or `acrm dbt-prepare`) "
            "once after installing or after changing the dbt project"
        )
    return path


def dbt_command(*args: str) -> list[str]:
    """The dbt command line for this project: `dbt <args> --project-dir ... --quiet`."""
    return [
        DBT_EXECUTABLE,
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--quiet",
    ]


def prepare_manifest() -> Path:
    """`dbt parse` into dbt_project/target; called by `make setup` and `acrm dbt-prepare`."""
    subprocess.run(dbt_command("parse"), check=True)
    return require_manifest()


def run_dbt(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt with this project on the given warehouse file (for tests and benchmarks; the
    pipeline runs dbt through dagster-dbt). Raises with dbt's output when it fails."""
    result = subprocess.run(
        dbt_command(*args),
        env={**os.environ, "ACRM_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result
