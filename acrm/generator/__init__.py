"""Sample operational sources with planted truths: `acrm generate`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from acrm.generator import truth, writers
from acrm.generator.ads import build_ad_spend
from acrm.generator.calendar import Window
from acrm.generator.calls import build_calls
from acrm.generator.crm import Streams, build_crm
from acrm.generator.spec import Volumes
from acrm.generator.web import build_web_events

GENERATOR_VERSION = 1
SOURCE_FOLDERS = ("crm", "calls", "web", "ads")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class GenerationResult:
    out: str
    seed: int
    scale: float
    start: str
    days: int
    files: dict[str, int]
    totals: dict[str, float]


def default_window(days: int = 365, today: dt.date | None = None) -> Window:
    """One year of history ending yesterday."""
    today = today or dt.date.today()
    return Window(today - dt.timedelta(days=days), days)


def slow_manager(crm) -> int:
    """The manager planted as the one who misses most calls: another than the weak and the
    skipping manager, so each planted effect has its own manager."""
    taken = {crm.weak_manager_id, crm.skipping_manager_id}
    return max(m for m in crm.tables["managers"]["manager_id"].to_list() if m not in taken)


def generate(
    out: Path,
    scale: float = 1.0,
    seed: int = 42,
    start: dt.date | None = None,
    days: int = 365,
    progress: Progress = lambda _: None,
    cdr_files: str = "daily",
) -> GenerationResult:
    if cdr_files not in ("daily", "master"):
        raise ValueError(f"--cdr-files must be daily or master, got {cdr_files!r}")
    if days < 30:
        raise ValueError(f"--days must be at least 30 to plant the effects, got {days}")
    window = Window(start, days) if start else default_window(days)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for folder in SOURCE_FOLDERS:  # only what this generator owns; never the user's files
        shutil.rmtree(out / folder, ignore_errors=True)
    world = _build(seed, window, Volumes.at(scale), progress)
    files = _write(out, window, world, cdr_files, progress)
    result = GenerationResult(
        out=str(out),
        seed=seed,
        scale=scale,
        start=window.start.isoformat(),
        days=days,
        files=files,
        totals=world["truth"]["totals"],
    )
    document = {
        "generator": {
            "version": GENERATOR_VERSION,
            "seed": seed,
            "scale": scale,
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "days": days,
        },
        **world["truth"],
    }
    (out / "truth.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _write_personas(out / "truth_personas.csv", world["crm"].extra["personas"])
    return result


def _write_personas(path: Path, personas: list[str]) -> None:
    """truth_personas.csv: each customer's planted persona (customer_id, persona)."""
    lines = ["customer_id,persona"] + [f"{i},{name}" for i, name in enumerate(personas, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _build(seed: int, window: Window, volumes: Volumes, progress: Progress) -> dict:
    """Every source's data in memory, and the truths measured on it."""
    # One independent stream per source: changing one source's code leaves the others' bytes.
    # A stream added later comes last, so the earlier ones keep their draws.
    crm_rng, calls_rng, web_rng, ads_rng, follow_up_rng, persona_rng, campaign_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)
    )
    progress(f"CRM: {volumes.customers:,} customers, their deals, orders and tickets")
    streams = Streams(follow_up_rng, persona_rng, campaign_rng)
    crm = build_crm(crm_rng, window, volumes.customers, streams)
    progress(f"call center: about {volumes.calls:,} calls")
    slow = slow_manager(crm)
    calls = build_calls(calls_rng, window, crm, volumes.calls, slow)
    progress(f"website: about {volumes.web_sessions:,} sessions of GA4 events")
    web = build_web_events(web_rng, window, crm, volumes.web_sessions)
    progress("ad platforms: daily spend per campaign")
    spend = build_ad_spend(ads_rng, window, crm.tables, web.events)
    progress("checking the planted truths on the generated data")
    document = truth.check_and_build(
        crm.tables,
        calls,
        web.events,
        spend,
        (crm.weak_manager_id, crm.skipping_manager_id, slow),
        crm.extra["campaign_members"],
    )
    return {"crm": crm, "calls": calls, "web": web, "spend": spend, "truth": document}


def _write(out: Path, window: Window, world: dict, cdr_files: str, progress: Progress) -> dict:
    """The sources in their real-world shapes; how many files each got."""
    crm = world["crm"]
    progress("writing the CRM database")
    (out / "crm").mkdir()
    writers.write_crm(out / "crm" / "crm.sqlite", crm.tables)
    progress("writing CDR files")
    n_calls = writers.write_calls(out / "calls", window, world["calls"], cdr_files)
    progress("writing GA4 export files")
    n_web = writers.write_web(out / "web", world["web"])
    progress("writing ad spend files")
    n_ads = writers.write_ads(out / "ads", world["spend"], crm.tables["campaigns"])
    return {"crm": 1, "calls": n_calls, "web": n_web, "ads": n_ads}


__all__ = ["GenerationResult", "asdict", "default_window", "generate"]
