"""docs/reference.md is the cube model written out: it must say what the cube computes."""

from pathlib import Path

from cubes import default_cube
from cubes.reference import reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference.md"


def test_the_committed_reference_is_the_models() -> None:
    written = DOC.read_text(encoding="utf-8")
    assert written == reference_markdown(default_cube()), (
        "docs/reference.md is out of date: run `acrm cube reference > docs/reference.md`"
    )


def test_every_measure_and_level_is_in_it() -> None:
    cube = default_cube()
    written = DOC.read_text(encoding="utf-8")
    for measure in cube.measures:
        assert f"| `{measure.name}` |" in written
    for row in cube.level_catalogue():
        assert f"| `{row['level']}` |" in written
