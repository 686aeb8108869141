"""Shared fixtures. Tests are marked by folder: unit, integration, e2e."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

SMALL_SCALE = 0.05
# Churn drivers need more customers: at 0.05 about 30 customers rated a ticket 1 or 2, too
# few to tell the planted driver from its companion trait (opening a ticket).
CHURN_SCALE = 0.3
SEED = 7
START = dt.date(2025, 1, 1)


def missing_tool(reason: str) -> None:
    """A test's tool (PostgreSQL, Chromium, Spark) is not on this machine: it skips, saying
    why, except in CI (CI=true), whose machine the project's setup must have equipped."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session: (URL as the postgres user, port)."""
    from tests import postgres_server

    reason = postgres_server.unavailable()
    if reason:
        missing_tool(reason)
    with postgres_server.cluster() as server:
        yield server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(item.fspath).parent.name
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(autouse=True, scope="session")
def _quiet_environment() -> None:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("DAGSTER_HOME", None)  # runs go to an ephemeral Dagster instance
    os.environ.pop("ACRM_CRM_URL", None)


@pytest.fixture(scope="session")
def small_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample sources at a small scale, generated once per test session."""
    from acrm.generator import generate

    out = tmp_path_factory.mktemp("sources")
    generate(out, scale=SMALL_SCALE, seed=SEED, start=START, days=365)
    return out


@pytest.fixture(scope="session")
def truth(small_sources: Path) -> dict:
    return json.loads((small_sources / "truth.json").read_text())


@pytest.fixture(scope="session")
def built_warehouse(small_sources: Path, tmp_path_factory: pytest.TempPathFactory):
    """The whole pipeline run once on the small sources; yields its Settings."""
    from acrm.pipeline import run_all
    from core.settings import Settings

    settings = Settings.load(tmp_path_factory.mktemp("warehouse") / "acrm.duckdb", small_sources)
    run_all(settings, progress=lambda _: None)
    return settings


@pytest.fixture(scope="session")
def churn_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """The whole pipeline on sources at CHURN_SCALE; yields (Settings, truth)."""
    from acrm.generator import generate
    from acrm.pipeline import run_all
    from core.settings import Settings

    sources = tmp_path_factory.mktemp("churn-sources")
    generate(sources, scale=CHURN_SCALE, seed=SEED, start=START, days=365)
    settings = Settings.load(tmp_path_factory.mktemp("churn-warehouse") / "acrm.duckdb", sources)
    run_all(settings, progress=lambda _: None)
    return settings, json.loads((sources / "truth.json").read_text())
