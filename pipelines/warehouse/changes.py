"""Which dbt nodes a build runs: every one, or only those the newly landed data touches.

dbt decides what changed. Before each build `dbt source freshness` records every source's
newest `_loaded_at` (target/sources.json); after a good build that file and the manifest
are kept beside the warehouse as the state of that build. The next build runs the
`changed_data` selector (dbt_project/selectors.yml) against it: the nodes downstream of
fresher sources and of changed code. A warehouse missing any model, no state, or
ACRM_FULL_BUILD=1 gets the whole build.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

SELECTOR = "changed_data"
STATE_FILES = ("sources.json", "manifest.json")
BUILT = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class BuildPlan:
    args: list[str]
    why: str

    @property
    def whole(self) -> bool:
        return "--selector" not in self.args


def state_dir(warehouse: str | Path) -> Path:
    """The last good build's state, beside the warehouse file it describes."""
    path = Path(warehouse)
    return path.with_name(f"{path.name}.dbt-state")


def missing_relations(con: duckdb.DuckDBPyConnection, manifest: dict) -> list[str]:
    """Tables and views the manifest's models, seeds and snapshots should have made."""
    expected = {
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in BUILT and node["config"].get("materialized") != "ephemeral"
    }
    present = set(
        con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    )
    return sorted(f"{schema}.{name}" for schema, name in expected - present)


def plan_build(state: Path, missing: list[str], *, forced: bool, fresh: bool) -> BuildPlan:
    """`fresh`: this run's `dbt source freshness` succeeded (target/sources.json exists)."""
    whole = ["build"]
    if forced:
        return BuildPlan(whole, "ACRM_FULL_BUILD=1")
    if not all((state / name).exists() for name in STATE_FILES):
        return BuildPlan(whole, f"no earlier good build of this warehouse in {state}")
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        return BuildPlan(whole, f"the warehouse lacks {shown}")
    if not fresh:
        return BuildPlan(whole, "dbt source freshness failed, so what changed is unknown")
    return BuildPlan(
        ["build", "--selector", SELECTOR, "--state", str(state)],
        "only what depends on sources that landed rows, or on code changed, since the "
        "last good build",
    )


def save_state(target: Path, state: Path) -> None:
    """Keep a good build's freshness and manifest; replaced whole, never half-written."""
    staging = state.with_name(state.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in STATE_FILES:
        shutil.copy2(target / name, staging / name)
    retired = state.with_name(state.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    if state.exists():
        state.rename(retired)
    staging.rename(state)
    shutil.rmtree(retired, ignore_errors=True)


def selected_count(target: Path) -> dict[str, int]:
    """How many nodes of each kind a build ran, from its run_results.json."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    counts: dict[str, int] = {}
    for result in results:
        kind = result["unique_id"].split(".", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def prune_targets(root: Path, keep: Path, prefix: str, last: int = 3) -> None:
    """dbt's target folders of earlier runs: keep the newest few, so they do not pile up."""
    earlier = sorted(
        (p for p in root.glob(f"{prefix}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for path in earlier[: max(0, len(earlier) - last)]:
        shutil.rmtree(path, ignore_errors=True)


class KeptTables:
    """The built nodes a selective build leaves as they are, handed out upstream first:
    those a rebuilt node depends on just before that node, the others at the end. A kept
    node is never downstream of a rebuilt one (the selection takes every descendant), so
    everything a rebuilt node depends on is either rebuilt before it or kept."""

    def __init__(self, manifest: dict, outputs: set[str]):
        self.parents = {
            uid: set(node.get("depends_on", {}).get("nodes", []))
            for uid, node in manifest["nodes"].items()
        }
        self.outputs = outputs  # the nodes with an output in this step
        self.done: set[str] = set()
        self._ancestors: dict[str, set[str]] = {}

    def ancestors(self, uid: str) -> set[str]:
        if uid not in self._ancestors:
            found = set()
            for parent in self.parents.get(uid, ()):
                found |= {parent} | self.ancestors(parent)
            self._ancestors[uid] = found
        return self._ancestors[uid]

    def _hand_out(self, uids: set[str]) -> list[str]:
        wanted = (uids & self.outputs) - self.done
        graph = {uid: self.ancestors(uid) & wanted for uid in wanted}
        self.done |= wanted
        return list(TopologicalSorter(graph).static_order())

    def before(self, built: str) -> list[str]:
        """The kept nodes `built` depends on that were not handed out yet."""
        self.done.add(built)
        return self._hand_out(self.ancestors(built))

    def rest(self) -> list[str]:
        """Every node not rebuilt and not handed out yet."""
        return self._hand_out(self.outputs)
