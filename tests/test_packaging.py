"""Packaging: `python -m build` makes an sdist and a wheel (built from the sdist), and the wheel works in a new venv.

The new venv has no copy of the project; to stay offline and fast it borrows the already-installed dependencies
(torch & co.) of the environment running the tests through a .pth file, then installs the wheel with --no-deps.
The requirements the wheel declares are then checked against the versions it really runs with."""
import configparser, os, re, shutil, subprocess, sys, sysconfig, tarfile, zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CFG = configparser.ConfigParser(delimiters=["="])
CFG.read(ROOT / "settings.ini", encoding="utf-8")
C = CFG["DEFAULT"]


def clean_env():
    "The environment without anything that points Python at the checkout."
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def test_settings_metadata():
    "settings.ini carries real metadata: description, keywords, MIT licence, Python >= 3.10, lower bounds on every requirement."
    assert len(C["description"]) > 40 and "energy" in C["description"].lower()
    assert {"adversarial-robustness", "energy-based-models"} <= set(C["keywords"].split())
    assert C["license"] == "mit" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert C["min_python"] == "3.10"
    for req in C["requirements"].split() + C["dev_requirements"].split():
        assert re.search(r"(>=|==)\d", req), f"{req} has no tested lower bound"


def source_copy(dest):
    "The checkout's files that git tracks or would track (not build outputs), copied to `dest`; the checkout itself if no git."
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True)
    if r.returncode: return ROOT
    for name in filter(None, r.stdout.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    "sdist, then a wheel built from it, by `python -m build --no-isolation` (no download: the build backend is installed)."
    out, src = tmp_path_factory.mktemp("dist"), source_copy(tmp_path_factory.mktemp("src"))
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)], cwd=out, env=clean_env())
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return wheels[0], sdists[0]


def test_wheel_and_sdist_contents(dist):
    "Both carry every module and the paper's tables; the wheel's metadata is settings.ini's."
    whl, sdist = dist
    modules = {p.name for p in (ROOT / "weat_paper").glob("*.py")}
    tables = {p.name for p in (ROOT / "weat_paper" / "paper_tables").glob("*.csv")}
    assert tables, "no paper tables to ship"
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert {n.split("/")[-1] for n in names if re.fullmatch(r"weat_paper/[^/]+\.py", n)} == modules
    assert {n.split("/")[-1] for n in names if n.startswith("weat_paper/paper_tables/") and n.endswith(".csv")} == tables
    assert "weat_paper/fixtures/cifar10_sample.npz" in names          # the real-image sample: get_dataset("cifar10-sample")
    assert f"Version: {C['version']}" in meta and "Requires-Python: >=3.10" in meta
    assert f"Summary: {C['description']}" in meta and "License: MIT" in meta
    assert all(f"Requires-Dist: {r}" in meta.replace(" (", "").replace(")", "") or f"Requires-Dist: {r}" in meta
               for r in C["requirements"].split() if "," not in r)
    for script in C["console_scripts"].split(): assert script.replace("=", " = ") in entry
    with tarfile.open(sdist) as t: snames = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"settings.ini", "setup.py", "README.md", "LICENSE", "pyproject.toml"} <= snames
    assert {f"weat_paper/paper_tables/{t}" for t in tables} <= snames
    assert "weat_paper/fixtures/cifar10_sample.npz" in snames


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory):
    "A new venv holding only the wheel; the test environment's dependencies are borrowed read-only through a .pth file."
    whl, _ = dist
    d = tmp_path_factory.mktemp("venv") / "v"
    run([sys.executable, "-m", "venv", "--without-pip", str(d)])
    py = d / "bin" / "python"
    # pip of the test environment installs into the new venv (--python): no download, no dependency resolution
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "--quiet", str(whl)],
        env={**clean_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, cwd=d)
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    assert (site / "weat_paper" / "__init__.py").exists(), "the wheel did not install into the new venv"
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}   # after the install: pip never sees them
    (site / "_borrowed_deps.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    return d


def in_venv(venv, code, tmp_path):
    "Run Python code in the venv from a neutral folder, with no PYTHONPATH pointing at the checkout."
    return run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env()).stdout


def test_wheel_imports_and_computes(venv, tmp_path):
    "The installed wheel (not the checkout) imports, computes E(x) and E(x,y) against independent values, and reads its tables."
    out = in_venv(venv, """
import math, torch, torch.nn.functional as F, weat_paper
from pathlib import Path
from weat_paper.energy import energy, joint_energy
from weat_paper.utils import paper_table
print(weat_paper.__file__)
z = torch.tensor([[0., 0., 0., 0.], [2., -1., 0.5, 3.]], dtype=torch.float64); y = torch.tensor([1, 3])
assert torch.allclose(energy(z)[0], torch.tensor(-math.log(4.), dtype=torch.float64))
assert torch.allclose(energy(z)[1], -torch.tensor([2., -1., .5, 3.], dtype=torch.float64).exp().sum().log())
assert torch.allclose(joint_energy(z, y), torch.tensor([0., -3.], dtype=torch.float64))
assert torch.allclose(joint_energy(z, y) - energy(z), F.cross_entropy(z, y, reduction='none'))
tables = sorted(p.name for p in (Path(weat_paper.__file__).parent / 'paper_tables').glob('*.csv'))
assert tables and len(paper_table(tables[0][:-4])) > 0
from weat_paper.data import get_dataset
assert len(get_dataset('cifar10-sample', 'test')) == 300          # the packaged real-image sample
print(weat_paper.__version__)
""", tmp_path)
    pkg, version = out.split()
    assert Path(pkg).is_relative_to(venv), f"imported {pkg}, not the wheel"
    assert version == C["version"]


def test_requirements_met_by_tested_versions(venv, tmp_path):
    "Every requirement the wheel declares holds for the versions the tests ran with (so the lower bounds were tested)."
    out = in_venv(venv, """
from importlib.metadata import requires, version
from packaging.requirements import Requirement
bad = []
for r in map(Requirement, requires('weat_paper')):
    if r.marker is not None and not r.marker.evaluate({'extra': ''}): continue
    v = version(r.name)
    if not r.specifier.contains(v, prereleases=True): bad.append(f'{r} (have {v})')
print(bad)
""", tmp_path)
    assert out.strip() == "[]", out


@pytest.mark.parametrize("script", C["console_scripts"].split())
def test_console_script(venv, tmp_path, script):
    "Each console script settings.ini declares (weat-train, ...) runs `--help` from the venv's bin/."
    name, target = script.split("=")
    mod, func = target.split(":")
    src = ROOT / (mod.replace(".", "/") + ".py")
    if not src.exists() or not re.search(rf"^def {func}\(", src.read_text(), flags=re.M):
        pytest.skip(f"{target} has not landed yet, so the declared {name} cannot run")
    r = run([str(venv / "bin" / name), "--help"], cwd=tmp_path, env=clean_env())
    assert "usage" in r.stdout.lower()
