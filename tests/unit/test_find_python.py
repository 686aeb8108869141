import os
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "find-python"


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("bash"), str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )


def tools_without_python(tmp_path: Path) -> str:
    """A PATH with the shell tools the script uses and no Python at all."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("ls", "grep", "sort"):
        (folder / tool).symlink_to(shutil.which(tool))
    return str(folder)


def test_finds_a_python_of_at_least_3_12(tmp_path: Path) -> None:
    result = run(
        {"PATH": "/usr/bin:/bin", "ACRM_PYTHON": sys.executable, "PYENV_ROOT": str(tmp_path)}
    )
    assert result.returncode == 0
    assert Path(result.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_finds_one_in_pyenv_versions_when_path_has_none(tmp_path: Path) -> None:
    version = tmp_path / "versions" / "3.12.9" / "bin"
    version.mkdir(parents=True)
    (version / "python").symlink_to(sys.executable)
    result = run(
        {"PATH": tools_without_python(tmp_path), "PYENV_ROOT": str(tmp_path), "HOME": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == Path(os.path.realpath(sys.executable))


def test_says_clearly_when_there_is_none(tmp_path: Path) -> None:
    result = run(
        {"PATH": tools_without_python(tmp_path), "PYENV_ROOT": str(tmp_path), "HOME": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "needs Python >= 3.12" in result.stderr
    assert "ACRM_PYTHON" in result.stderr
