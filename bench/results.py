"""What every bench script shares: its command line (--scales, --out) and its results file,
where a run replaces the scales it measured and keeps the others."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def run_scales(
    description: str, name: str, measure: Callable[[float, Path], dict], scales=(1.0,)
) -> list[dict]:
    """`measure(scale, out)` at each --scales, merged into `out/<name>.json`."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=list(scales))
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{name}.json"
    kept = json.loads(path.read_text()) if path.exists() else []
    results = [measure(scale, args.out) for scale in args.scales]
    measured = {r["scale"] for r in results}
    merged = [r for r in kept if r["scale"] not in measured] + results
    path.write_text(json.dumps(sorted(merged, key=lambda r: r["scale"]), indent=2) + "\n")
    return results
