"""A normal install works on its own: ``pip install .`` (not editable) into a fresh virtual environment,
then ``scratchcnn gradcheck`` from a folder far from the checkout prints every row and exits 0. The
installed package must never reach for the repository's reference/ folder. (Slow: CI runs it.)"""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gradcheck_runs_from_a_plain_install(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], capture_output=True,
                         text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([str(venv / "bin" / "scratchcnn"), "gradcheck"], cwd=elsewhere, capture_output=True,
                            text=True, timeout=1200, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from scratchcnn.gradcheck import suite_checks
    passed, total = result.stdout.splitlines()[-1].split(" of ")
    assert total == f"{passed} passed" and int(passed) >= len(suite_checks())   # "60 of 60 passed"
    assert "FAIL" not in result.stdout
    located = subprocess.run([str(venv / "bin" / "python"), "-c", "import scratchcnn; print(scratchcnn.__file__)"],
                             cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert str(venv) in located.stdout            # the installed copy ran, not the checkout
