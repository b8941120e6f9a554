"""The reproduction notebooks as a user meets them: every papermill parameter is listed with its type and help, no
plotting code and no typed paper number in a notebook, and each notebook that trains runs at an edge value."""
import json, os, re, subprocess, sys
from pathlib import Path
import pytest
from weat_paper.outputs import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
PAPERMILL = str(Path(sys.executable).parent / "papermill")
REPRO = sorted(p.stem for p in (ROOT / "nbs").glob("*.ipynb") if p.stem.startswith(("fig", "table")))

def code(nb):
    return ["".join(c["source"]) for c in json.loads((ROOT / "nbs" / f"{nb}.ipynb").read_text())["cells"] if c["cell_type"] == "code"]

def test_every_reproduction_notebook_found():
    assert len(REPRO) >= 19

@pytest.mark.parametrize("nb", REPRO)
def test_help_lists_every_parameter_with_its_type(nb):
    "papermill --help-notebook lists each assignment of the parameters cell with a type, and the cell gives each a help comment."
    out = subprocess.run([PAPERMILL, "--help-notebook", str(ROOT / "nbs" / f"{nb}.ipynb")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    listed = dict(re.findall(r"^  (\w+): (.+?) \(default ", out.stdout, flags=re.M))
    params = notebook_parameters(ROOT / "nbs" / f"{nb}.ipynb")
    assert params and set(listed) == set(params), (set(params) ^ set(listed))
    for name, (typ, _, help) in params.items():
        assert typ and listed[name] == typ and listed[name] != "None", f"{nb}: {name} has no type"
        assert help, f"{nb}: {name} has no # help comment"
    assert "Unable to parse" not in out.stdout + out.stderr
    src = next(c["source"] for c in json.loads((ROOT / "nbs" / f"{nb}.ipynb").read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert len([l for l in "".join(src).splitlines() if l.strip()]) == len(params), f"{nb}: one assignment per line"

@pytest.mark.parametrize("nb", REPRO)
def test_thin(nb):
    "No plotting code in a reproduction notebook (weat_paper.figures draws), and the paper's numbers come from its tables."
    for s in code(nb):
        assert not re.search(r"plt\.subplots|\bax\.|\baxs?\[|\.bar\(|\.scatter\(", s), f"{nb}: plotting code\n{s}"
        assert not re.search(r"paper\w* = \{|94\.78|50000|50,000", s), f"{nb}: a paper number typed in\n{s}"
    assert any("paper_command(" in s for s in code(nb)), f"{nb}: prints no paper-scale command"

# One run per notebook that trains, at an edge value: few epochs and a handful of images, every result in a temporary folder.
EDGE = {
    "fig3_phases": dict(method="sat", epochs=4, n_per_class=30, track_n=32),        # too few epochs for phases: a sentence, not a crash
    "fig1_energy_scatter": dict(epochs=2, n_per_class=30, track_n=32, n_points=16),
    "table2a_delta_energy": dict(methods="sat,weat_adv", epochs=2, n_per_class=30, track_n=32, seeds=[0, 1]),   # error bars
    "fig1a_energy_vs_pgd_steps": dict(epochs=2, n_per_class=30, n_test_per_class=3, attack_steps=[3], losses=["ce"]),    # one step count
    "fig2_attack_energies": dict(epochs=2, n_per_class=30, n_test_per_class=3, attacks=["pgd", "trades", "apgd-ce"]),
    "fig4_zoo_energy": dict(methods=["standard", "sat"], epochs=2, n_per_class=30, n_test=50, attack_steps=2),
    "fig5a_energy_subsets": dict(epochs=2, n_per_class=30, steps=1),     # 2 epochs: each subset takes the whole split's 6 one-cycle steps
    "fig5bc_pm_energy": dict(epochs=2, n_per_class=30, steps=1, attack_steps=2),
    "fig5d_class_energy": dict(epochs=2, n_per_class=30, steps=1),
    "figI_delta_energy_bins": dict(epochs=2, n_per_class=30, steps=1, n_bins=3),
    "table1_robustness": dict(methods=["sat", "weat_adv"], seeds=[0], epochs=2, n=100, n_autoattack=8, autoattack_attacks=["apgd-ce"],
                              train_kw={"steps": 1, "track_n": 32, "n_per_class": 30}),
    "table1c_ablation": dict(seeds=[0], epochs=2, n=100, n_autoattack=8, autoattack_attacks=["apgd-ce"],
                             train_kw={"steps": 1, "track_n": 32, "n_per_class": 30}),
}

def test_edge_runs_cover_every_training_notebook():
    trains = {nb for nb in REPRO if any(re.search(r"\b(train|sweep)\(", s) for s in code(nb))}
    assert trains == set(EDGE), trains ^ set(EDGE)

@pytest.mark.parametrize("nb", sorted(EDGE))
def test_edge_value_runs(nb, tmp_path):
    "The notebook runs to its end with an edge value and writes its figure under figures/<scale>/ in a temporary folder."
    args = [a for k, v in EDGE[nb].items() for a in (("-y", f"{k}: {json.dumps(v)}") if isinstance(v, (list, dict)) else ("-p", k, str(v)))]
    env = {**os.environ, "WEAT_FIGURES": str(tmp_path / "figures"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([PAPERMILL, str(ROOT / "nbs" / f"{nb}.ipynb"), str(tmp_path / "out.ipynb"), *args, "--cwd", str(ROOT)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert "Passed unknown parameter" not in out.stderr
    assert list((tmp_path / "figures" / "digits").glob("*.png")), "no figure written"
