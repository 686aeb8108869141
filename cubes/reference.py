"""docs/reference.md: every measure and level of the cube with its definition, written from
the cube model so the documentation cannot drift from what the cube computes.

`acrm cube reference > docs/reference.md` rewrites it; a unit test fails when the file
and the model disagree.
"""

from __future__ import annotations

from cubes.model import TIME_FUNCTIONS, Aggregate, Cube, Difference, Measure, Ratio, UpliftBound

HEADER = """# ACRM measures and levels

Written by `acrm cube reference` from the cube model (`cubes/acrm/`): do not edit by hand.
Every ratio is computed from its summed parts at the cell, so it is right at every level.
"""


def _computed(measure: Measure) -> str:
    """How the measure is computed: its aggregate over which facts, or its parts."""
    if isinstance(measure, Aggregate):
        return "; ".join(f"{s.function}({s.expression}) over {s.fact}" for s in measure.sources)
    if isinstance(measure, Ratio):
        return f"{measure.numerator} / {measure.denominator}"
    if isinstance(measure, Difference):
        return f"{measure.minuend} - {measure.subtrahend}"
    if isinstance(measure, UpliftBound):
        sign = "-" if measure.side < 0 else "+"
        return (
            f"{measure.treated} - {measure.holdout} {sign} 1.96 x sqrt(p(1-p)/(n+2) of each "
            "rate), p = (responders + 1) / (members + 2) (Agresti-Caffo)"
        )
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown(cube: Cube) -> str:
    """The measures (definition, computation) and the levels (hierarchy, meaning)."""
    lines = [HEADER, "## Measures", "", "| measure | definition | computed as |", "|---|---|---|"]
    lines += [
        f"| `{m.name}` | {_cell(m.description)} | `{_cell(_computed(m))}` |" for m in cube.measures
    ]
    lines += ["", "## Time functions", "", "Written `MEASURE:function`.", ""]
    lines += [f"- `{name}`: {text}" for name, text in TIME_FUNCTIONS.items()]
    lines += ["", "## Levels", "", "| level | hierarchy | meaning |", "|---|---|---|"]
    lines += [
        f"| `{row['level']}` | {row['hierarchy']} | {_cell(row['description'])} |"
        for row in cube.level_catalogue()
    ]
    lines += ["", "## Facts", "", "| fact | table | what a row is |", "|---|---|---|"]
    lines += [f"| {f.name} | `{f.table}` | {_cell(f.description)} |" for f in cube.facts]
    return "\n".join(lines) + "\n"
