"""The notebook checks that need real CIFAR-10: the cells flagged `#| cifar10`, which plain `nbdev_test` skips.

Each notebook holding such cells is one test here. It runs `nbdev_test --flags cifar10` on that notebook when
`weat_paper.data.find_cifar10` finds the data ($WEAT_CIFAR10_JPG or the dataset root data/), and is otherwise reported as
skipped, with one line saying how to enable it (pytest -rs, set in pyproject). With WEAT_NEED_CIFAR10=1 (CI's second
pass, which sets WEAT_CIFAR10_JPG) a missing data set fails instead of skipping."""
import json, os, re, subprocess, sys
from pathlib import Path
import pytest
from weat_paper.data import find_cifar10, CIFAR10_HOWTO

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def flagged(nb_path):
    "Whether a notebook has a code cell flagged `#| cifar10`."
    cells = json.loads(nb_path.read_text())["cells"]
    return any(c["cell_type"] == "code" and re.search(r"^#\|\s*cifar10\s*$", "".join(c["source"]), flags=re.M) for c in cells)

NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "nbs").glob("*.ipynb") if flagged(p))

def test_flag_is_a_test_flag():
    "`cifar10` is one of settings.ini's tst_flags (so plain nbdev_test skips those cells), and some notebook uses it."
    flags = re.search(r"^tst_flags\s*=\s*(.*)$", (ROOT / "settings.ini").read_text(), flags=re.M).group(1).split()
    assert "cifar10" in flags and NOTEBOOKS

@pytest.mark.cifar10
@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_cifar10_cells(nb):
    if find_cifar10(ROOT / "data") is None:
        why = f"{nb}: its real-CIFAR-10 cells (#| cifar10) did not run, no CIFAR-10 found; to run them, {CIFAR10_HOWTO}"
        if os.environ.get("WEAT_NEED_CIFAR10") == "1": pytest.fail(why)
        pytest.skip(why)
    r = subprocess.run([str(BIN / "nbdev_test"), "--flags", "cifar10", "--path", nb], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=1200)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
