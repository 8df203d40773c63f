"""docs/write-a-layer.md end to end from the command line: the page's LeakyReLU, saved as a module of
the user's, is checked by ``scratchcnn gradcheck mylayers:LeakyReLU`` (its Python blocks run in
tests/test_docs.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "write-a-layer.md"


def leaky_relu_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    return next(block for block in blocks if "class LeakyReLU(Layer)" in block)


def gradcheck(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "scratchcnn", "gradcheck", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_gradcheck_takes_a_users_layer_and_fails_a_wrong_one(tmp_path):
    source = leaky_relu_source()
    (tmp_path / "mylayers.py").write_text(source)
    result = gradcheck(["mylayers:LeakyReLU", "--input-shape", "6,6,3"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mylayers:LeakyReLU on (2, 6, 6, 3)" in result.stdout and "2 of 2 passed" in result.stdout

    broken = source.replace("self.negative_slope * dy)", "0.0 * dy)")
    assert broken != source
    (tmp_path / "brokenlayers.py").write_text(broken)
    result = gradcheck(["brokenlayers:LeakyReLU", "--input-shape", "6,6,3"], tmp_path)
    assert result.returncode == 1 and "FAIL" in result.stdout


def test_gradcheck_names_a_missing_layer_in_one_line(tmp_path):
    result = gradcheck(["nosuchmodule:Layer"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("scratchcnn: error: cannot import 'nosuchmodule'")
    assert "Traceback" not in result.stderr
