"""The project's own invariants: notebooks are the source, clean, and tagged; README is the docs home page."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)

@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    "A copy of the project's sources (notebooks, settings, package) to run nbdev's tools on."
    d = tmp_path_factory.mktemp("proj")
    for p in ("nbs", "weat_paper"): shutil.copytree(ROOT / p, d / p, ignore=shutil.ignore_patterns("__pycache__"))
    for p in ("settings.ini", "setup.py"): shutil.copy(ROOT / p, d / p)
    return d

def test_export_reproduces_package(copy):
    "nbdev_export on the committed notebooks writes exactly the committed package."
    for f in (copy / "weat_paper").glob("*.py"):
        if f.name != "__init__.py": f.unlink()
    run([str(BIN / "nbdev_export")], copy)
    made = {f.name: f.read_text() for f in (copy / "weat_paper").glob("*.py")}
    ours = {f.name: f.read_text() for f in (ROOT / "weat_paper").glob("*.py")}
    assert made == ours

def test_notebooks_are_clean(copy):
    "nbdev_clean changes no committed notebook."
    before = {f.name: f.read_text() for f in (copy / "nbs").glob("*.ipynb")}
    run([str(BIN / "nbdev_clean")], copy)
    after = {f.name: f.read_text() for f in (copy / "nbs").glob("*.ipynb")}
    assert [k for k in before if before[k] != after[k]] == []

def test_parameters_tag_survives_clean(copy):
    "papermill's `parameters` cell tag is kept by nbdev_clean (settings.ini: allowed_cell_metadata_keys = tags)."
    nb = {"cells": [{"cell_type": "code", "execution_count": 3, "id": "abc", "metadata": {"tags": ["parameters"], "scrolled": True},
                     "outputs": [], "source": ["method = 'trades'"]}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    p = copy / "nbs" / "tagged.ipynb"
    p.write_text(json.dumps(nb))
    run([str(BIN / "nbdev_clean"), "--fname", str(p)], copy)
    cell = json.loads(p.read_text())["cells"][0]
    assert cell["metadata"] == {"tags": ["parameters"]}      # the tag stays, other metadata goes
    assert cell["execution_count"] is None
    p.unlink()

def test_readme_is_index():
    "README.md is generated from nbs/index.ipynb and is up to date."
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_readme_has_two_setup_commands():
    "README has exactly one main and one test command, each installing from scratch; CI runs the test one."
    sys.path.insert(0, str(ROOT / "tools"))
    from readme_commands import readme_commands
    cmds = readme_commands()
    assert set(cmds) == {"main", "test"}
    for c in cmds.values(): assert c.startswith("python3 -m venv .venv") and 'pip install -e ".[dev]"' in c
    assert "papermill nbs/" in cmds["main"] and "nbdev_test" in cmds["test"]
    assert "readme_commands.py test" in (ROOT / ".ci" / "run").read_text()

def test_notebooks_name_their_kernel():
    "Every notebook names the python3 kernel and its language, so `papermill nbs/X.ipynb out.ipynb` needs no -k/-l."
    for f in sorted((ROOT / "nbs").glob("*.ipynb")):
        ks = json.loads(f.read_text())["metadata"].get("kernelspec", {})
        assert (ks.get("name"), ks.get("language")) == ("python3", "python"), f.name
