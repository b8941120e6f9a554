"The CPU grid runner's experiment jobs: the depth and epsilon tags train what the figure notebooks read."
import importlib.util, json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    spec = importlib.util.spec_from_file_location("cpu_grid", ROOT / "tools" / "cpu_grid.py")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m


def test_depth_tags_train_the_family(grid):
    from weat_paper.models import STRIDECNN_DEPTHS
    assert grid.TAGS["d2"]("standard", 0) == {"arch": "stridecnn_d2"} and grid.TAGS["d6"]("standard", 0) == {"arch": "stridecnn_d6"}
    assert set(STRIDECNN_DEPTHS) == {"stridecnn_d2", "stridecnn", "stridecnn_d6"}
    fig1a = dict(grid.LATE_NOTEBOOKS)["fig1a_energy_vs_pgd_steps"]
    assert set(fig1a) == {("standard", 0, ""), ("standard", 0, "d2"), ("standard", 0, "d6")}
    assert all(j in grid.EXTRA for j in fig1a if j[2])                        # each tagged run is a queued job


def test_fig4_models_are_the_runners_runs(grid):
    from weat_paper.runs import run_dir_for
    from weat_paper.zoo import CPU_FIG4_MODELS
    jobs = grid._late_models()["fig4_zoo_energy"]
    assert set(jobs) == set(CPU_FIG4_MODELS) and len(jobs) == 17
    grid_jobs = {(m, s, "") for m, s in __import__("weat_paper.claims", fromlist=["GRID"]).GRID} | set(grid.EXTRA)
    for name, (m, s, opts) in CPU_FIG4_MODELS.items():
        job = jobs[name]
        assert job in grid_jobs, name                                         # the runner makes every run the notebook reads
        tag_opts = grid.TAGS[job[2]](m, s) if job[2] else {}
        assert run_dir_for(m, protocol="cifar10-cpu", seed=s, **opts) == run_dir_for(m, protocol="cifar10-cpu", seed=s, **tag_opts)


def test_late_run_needs_its_own_models(grid, tmp_path, monkeypatch):
    monkeypatch.setattr(grid, "RECORDS", tmp_path / "runs")
    monkeypatch.setattr(grid, "notebook_done", lambda name: True)              # the fingerprint matches
    csv = tmp_path / "fig1a_energy_vs_pgd_steps.csv"
    csv.write_text("steps,loss,model\n0,ce,stridecnn\n")                       # the early run: the protocol's model only
    assert not grid.late_done("fig1a_energy_vs_pgd_steps")
    csv.write_text("steps,loss,model\n" + "".join(f"0,ce,{a}\n" for a in ("stridecnn_d2", "stridecnn", "stridecnn_d6")))
    assert grid.late_done("fig1a_energy_vs_pgd_steps")
    assert grid.done(("notebook", "fig1a_energy_vs_pgd_steps", "late"))
