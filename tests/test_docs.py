"""The documentation is tested like code.

1. Every ```python block in README.md and docs/**/*.md runs. A page's blocks run in order, in one
   namespace of their own (so a later block may use what an earlier one defined), in a temporary working
   directory, with matplotlib's Agg backend. The first failing block fails the page's test, naming the
   page, the block number and the line it starts on. Markers on a block's first line:

       # doc-test: skip          never run (shell-like snippets, long trainings, files the test lacks)
       # doc-test: needs-mnist   run only when the MNIST files are found; SCRATCHCNN_DATA points at them
       # doc-test: needs-fashion-mnist   the same for Fashion-MNIST; SCRATCHCNN_FASHION_DATA points at them

   A block that calls ``mnist.load_data(`` counts as needs-mnist without the marker (and one that calls
   ``fashion_mnist.load_data(`` as needs-fashion-mnist). When the data is missing, a page with such a
   block is skipped as a whole (its later blocks may use the data).
   Blocks fenced as ``` (no language), ```bash or ```text are never run.

2. Every relative link in README.md, docs/*.md and docs/layers/*.md points at a file or folder that
   exists.

3. The layer pages are two links from the README: README.md -> docs/README.md -> docs/layers/<page>.md.

The convention for writers is in docs/layers/README.md ("Examples are tests").
"""
import contextlib
import io
import linecache
import os
import re
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import find_mnist

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
LAYERS = DOCS / "layers"
SHARED_FASHION = REPO.parent / "shared" / "data" / "fashion-mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz")

# The layer pages this documentation promises (docs/layers/README.md is their index).
LAYER_PAGES = ("conv2d.md", "maxpool2d.md", "flatten.md", "dense.md", "dropout.md", "relu.md",
               "softmax-crossentropy.md", "adam.md", "optimizers.md", "avgpool2d.md", "global-avgpool.md",
               "batchnorm.md", "activations.md")

SKIP_MARK = "# doc-test: skip"
MNIST_MARK = "# doc-test: needs-mnist"
FASHION_MARK = "# doc-test: needs-fashion-mnist"
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)[^`]*$")


def _pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def _rel(path: Path) -> str:
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:  # a page outside the repository (the tests of this file)
        return path.as_posix()


def fenced_blocks(text: str):
    """(language, first line number, code) of every fenced block, in page order."""
    lines = text.splitlines()
    blocks, k = [], 0
    while k < len(lines):
        opening = _FENCE_OPEN.match(lines[k])
        if not opening:
            k += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body, start = [], k + 2  # 1-based number of the block's first code line
        k += 1
        while k < len(lines) and not closing.match(lines[k]):
            line = lines[k]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            k += 1
        blocks.append((opening["info"].lower(), start, "\n".join(body) + "\n"))
        k += 1  # past the closing fence
    return blocks


def python_blocks(page: Path):
    """[(block number, first line, code, marker)] for the ```python blocks of a page; numbered from 1."""
    out = []
    for language, line, code in fenced_blocks(page.read_text(encoding="utf-8")):
        if language not in ("python", "py", "python3"):
            continue
        first = next((l.strip() for l in code.splitlines() if l.strip()), "")
        if first.startswith(SKIP_MARK):
            marker = "skip"
        elif first.startswith(FASHION_MARK) or "fashion_mnist.load_data(" in code:
            marker = "needs-fashion-mnist"
        elif first.startswith(MNIST_MARK) or re.search(r"(?<!fashion_)mnist\.load_data\(", code):
            marker = "needs-mnist"
        else:
            marker = None
        out.append((len(out) + 1, line, code, marker))
    return out


def _fashion_dir() -> Path | None:
    path = Path(os.environ.get("SCRATCHCNN_FASHION_DATA") or SHARED_FASHION)
    return path if all((path / name).exists() for name in MNIST_FILES) else None  # the same four names


def _run_block(page: Path, number: int, line: int, code: str, namespace: dict) -> str | None:
    """Run one block in the page's namespace; None if it passed, else a message for the failure."""
    label = f"{_rel(page)}, python block {number} (from line {line})"
    filename = f"<{label}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)  # for tracebacks
    output = io.StringIO()
    try:
        compiled = compile(code, filename, "exec")
        with warnings.catch_warnings(), contextlib.redirect_stdout(output):
            exec(compiled, namespace)
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - a SystemExit in an example is a failure too
        trace = traceback.TracebackException.from_exception(error)
        trace.stack = traceback.StackSummary.from_list(
            [frame for frame in trace.stack if frame.filename != __file__])  # the example's frames only
        where = next((f.lineno for f in reversed(trace.stack) if f.filename == filename), None)
        if where is None and isinstance(error, SyntaxError):
            where = error.lineno
        at = f", page line {line + where - 1}" if where else ""
        return (f"{label} failed{at}:\n{''.join(trace.format())}"
                f"--- its output ---\n{output.getvalue()}")


# --- 1. the examples run ------------------------------------------------------------------------------------
PAGES_WITH_CODE = [page for page in _pages() if python_blocks(page)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[_rel(p) for p in PAGES_WITH_CODE])
def test_python_blocks_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = python_blocks(page)
    if any(marker == "needs-mnist" for *_, marker in blocks):
        mnist, why_not = find_mnist()
        if mnist is None:
            pytest.skip(f"{_rel(page)} has examples that need MNIST. {why_not}")
        monkeypatch.setenv("SCRATCHCNN_DATA", str(mnist))
    if any(marker == "needs-fashion-mnist" for *_, marker in blocks):
        fashion = _fashion_dir()
        if fashion is None:
            pytest.skip(f"{_rel(page)} has examples that need Fashion-MNIST; put the four files in "
                        f"{SHARED_FASHION} or set SCRATCHCNN_FASHION_DATA")
        monkeypatch.setenv("SCRATCHCNN_FASHION_DATA", str(fashion))
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(tmp_path / "cache"))  # nothing lands in the user's cache
    monkeypatch.setenv("SCRATCHCNN_FASHION_CACHE", str(tmp_path / "fashion-cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))  # `import reference` works as it does from a checkout

    namespace = {"__name__": "__main__", "__file__": str(page)}
    ran, failure = 0, None
    print_options = np.get_printoptions()
    try:
        for number, line, code, marker in blocks:
            if marker == "skip":
                continue
            failure = _run_block(page, number, line, code, namespace)
            if failure:
                break
            ran += 1
    finally:
        plt.close("all")
        np.set_printoptions(**print_options)
    if failure:
        pytest.fail(failure, pytrace=False)
    assert ran or all(marker == "skip" for *_, marker in blocks)


def test_failure_names_page_block_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nx = 1\n```\n\n```python\ny = x + 1\nassert y == 3, 'no'\n```\n")
    namespace = {}
    (first, line_1, code_1, _), (second, line_2, code_2, _) = python_blocks(page)
    assert _run_block(page, first, line_1, code_1, namespace) is None
    message = _run_block(page, second, line_2, code_2, namespace)
    assert "python block 2 (from line 8) failed, page line 9" in message
    assert "assert y == 3, 'no'" in message and "AssertionError: no" in message
    assert "test_docs.py" not in message


def test_block_parser_sees_markers_and_languages():
    text = "\n".join([
        "```python", "a = 1", "```",
        "```bash", "echo no", "```",
        "  ```python", "  # doc-test: skip", "  open('missing')", "  ```",
        "````python", "b = '```'", "````",
        "```", "plain = True", "```",
    ])
    blocks = fenced_blocks(text)
    assert [b[0] for b in blocks] == ["python", "bash", "python", "python", ""]
    assert blocks[2][2] == "# doc-test: skip\nopen('missing')\n"
    assert blocks[3][2] == "b = '```'\n"


# --- 2. links resolve ---------------------------------------------------------------------------------------
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)


def _prose(text: str) -> str:
    """The page without fenced blocks and inline code, where a link is only an example."""
    kept, inside = [], None
    for line in text.splitlines():
        opening = _FENCE_OPEN.match(line)
        if inside is None and opening:
            inside = opening["fence"]
            continue
        if inside is not None:
            if re.match(rf"^[ \t]*{re.escape(inside[0])}{{{len(inside)},}}[ \t]*$", line):
                inside = None
            continue
        kept.append(re.sub(r"(`+)(?:(?!\1).)+\1", "", line))
    return "\n".join(kept)


def relative_links(page: Path) -> list[str]:
    """The relative targets of a page's links and images, anchors dropped, in page order."""
    prose = _prose(page.read_text(encoding="utf-8"))
    targets = _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)
    return [t.split("#", 1)[0] for t in targets if not _EXTERNAL.match(t) and t.split("#", 1)[0]]


def _resolve(page: Path, target: str) -> Path:
    from urllib.parse import unquote

    return (page.parent / unquote(target)).resolve()


LINKED_PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md")), *sorted(LAYERS.glob("*.md"))]


@pytest.mark.parametrize("page", LINKED_PAGES, ids=[_rel(p) for p in LINKED_PAGES])
def test_relative_links_resolve(page):
    broken = [t for t in relative_links(page) if not _resolve(page, t).exists()]
    assert not broken, f"{_rel(page)} links to files that do not exist: {broken}"


def test_link_finder(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See [a](a.md), [b](sub/b.md#part \"title\"), ![img](fig.png), [web](https://x.org), "
                    "[top](#top), `[code](not-a-link.md)` and [c][ref].\n\n[ref]: c.md\n\n"
                    "```\n[fenced](nope.md)\n```\n", encoding="utf-8")
    assert relative_links(page) == ["a.md", "sub/b.md", "fig.png", "c.md"]


# --- 3. the layer pages are two links from the README ---------------------------------------------------------
def test_layer_pages_exist():
    missing = [name for name in ("README.md", *LAYER_PAGES) if not (LAYERS / name).exists()]
    assert not missing, f"docs/layers/ lacks {missing}"


def test_layer_pages_two_links_from_readme():
    readme = REPO / "README.md"
    first = {_resolve(readme, t) for t in relative_links(readme)}
    assert (DOCS / "README.md").resolve() in first, "README.md must link to docs/README.md"
    second = {_resolve(DOCS / "README.md", t) for t in relative_links(DOCS / "README.md")}
    unreached = [_rel(p) for p in sorted(LAYERS.glob("*.md")) if p.resolve() not in second]
    assert not unreached, f"docs/README.md must link to every layer page; it misses {unreached}"
