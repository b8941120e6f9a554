"""Progress under papermill: a saved notebook holds its bars as plain lines (no `TqdmWarning: IProgress not found`, no
carriage returns, no `ESC[A` cursor moves), and `papermill --log-output` streams them to the terminal as the cell runs."""
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CELL = """import time
from weat_paper.utils import progress_bar
with progress_bar(3, "epochs", leave=True) as outer:
    for e in range(3):
        with progress_bar(4, f"eval {e + 1}/3") as inner:
            for _ in range(4): time.sleep(0.02); inner.update(1)
            inner.set_postfix_str("test: PGD-1")
        outer.update(1)
print("done")"""


def test_papermill_saves_and_streams_clean_bars(tmp_path):
    nbformat = pytest.importorskip("nbformat"); pytest.importorskip("papermill")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, tmp_path / "bars.ipynb")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "papermill", str(tmp_path / "bars.ipynb"), str(tmp_path / "out.ipynb"), "--log-output"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    streamed = r.stdout + r.stderr
    assert "epochs: 100%" in streamed and "eval 3/3: 100%" in streamed and "test: PGD-1" in streamed    # --log-output shows them
    outs = json.loads((tmp_path / "out.ipynb").read_text())["cells"][0]["outputs"]
    saved = "".join("".join(o.get("text", "")) for o in outs)
    assert "done" in saved and "epochs: 100%|" in saved and saved.count("eval ") >= 6
    assert "TqdmWarning" not in saved and "IProgress" not in saved and "\r" not in saved and "\x1b" not in saved, repr(saved[:500])
