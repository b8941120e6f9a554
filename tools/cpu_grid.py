#!/usr/bin/env python
"""Rerun the CPU-scale CIFAR-10 experiments behind the claims ledger, resuming and skipping what is done.

Each job trains one model under the `cifar10-cpu` protocol (`weat_paper.train.train`), evaluates its selected checkpoint
(`best.pt`: chosen after 0.9 of the epochs; natural training keeps its last epoch) with PGD-20 on the whole 10,000-image
test split and AutoAttack (APGD-CE + APGD-T) on `--n-autoattack` images drawn at random from it (seed 0), and keeps a small record under
`figures/cifar10-cpu/runs/<run name>/` (config.json, status.json, metrics.csv, eval.json, record.json with the protocol
fingerprint; no checkpoints, no energy arrays). A job whose record exists with the current fingerprint is skipped.

Experiments beyond Tab. 1a (a job's tag names one, in TAGS) keep their records under `figures/cifar10-cpu/experiments/`:
each trains with its tag's options and is evaluated with PGD-20 at the grid's eps = 8/255 on the whole test split.

    python tools/cpu_grid.py            # the whole queue, two one-thread jobs at a time
    python tools/cpu_grid.py --list     # the queue and what is done
"""
import argparse, csv, functools, json, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "figures" / "cifar10-cpu" / "runs"
EXPERIMENTS = ROOT / "figures" / "cifar10-cpu" / "experiments"
PROTOCOL = "cifar10-cpu"
KEEP = ("config.json", "status.json", "metrics.csv", "eval.json")
N_AUTOATTACK = 500       # AutoAttack images per Tab. 1a / Tab. 1c run (--n-autoattack); a record with another count is re-evaluated


# Experiments beyond Tab. 1a's grid: tag -> the training options of its job (method, seed, tag); tag "" is the grid.
def _eps(k): return lambda method, seed: dict(eps=k / 255)
def _arch(a): return lambda method, seed: dict(arch=a)
TAGS = {"eps2": _eps(2), "eps4": _eps(4)}                # Fig. 4: SAT models that span robustness
TAGS.update({"d2": _arch("stridecnn_d2"), "d6": _arch("stridecnn_d6")})    # Fig. 1a: natural models of other depths


# Fig. 5a / Tab. C-D (App. A.4): SAT retrained without a subset of its training split, ranked by the selected model of
# SAT seed 0 (the shipped checkpoints/cifar10-cpu/sat_s0.pt, on that run's split), with the whole split's SGD steps
@functools.lru_cache(maxsize=None)
def _fig5a_subsets():
    from weat_paper.analysis import shipped_ranking
    return shipped_ranking("cifar10-cpu:sat")["options"]
def _subset(s): return lambda method, seed: _fig5a_subsets()[s]
TAGS.update({f"fig5a-{s}": _subset(s) for s in ("full", *"ICHLR")})   # full: the whole split; I, C: misclassified (capped at
                                                                     # 6.6 %), as many random correct; H, L, R: 13 %


# the figure notebooks behind the ledger's claims: (notebook = the stem of its CSV, the jobs whose records it needs)
NOTEBOOKS = [("fig2_attack_energies", (("standard", 0, ""),)), ("fig1a_energy_vs_pgd_steps", (("standard", 0, ""),)),
             ("fig5bc_pm_energy", (("sat", 0, ""),)), ("fig5d_class_energy", (("sat", 0, ""),)),
             ("figI_delta_energy_bins", (("sat", 0, ""),)), ("fig5e_sgld_energy", (("sat", 0, ""),)),
             ("table2b_generation", tuple((m, 0, "") for m in ("trades", "mart", "sat", "standard")))]
# notebooks that read the experiments' runs, run after them; a late job ("notebook", name, "late") is done when the
# notebook's CSV has the current fingerprint and each of its models in its `model` column
def _tagged(method, seed, options):
    "The job (method, seed, tag) that trains `method` with `options` over the protocol's."
    return (method, seed, next(t for t, f in TAGS.items() if f(method, seed) == options) if options else "")

def _late_models():
    "{late notebook: {the `model` name its CSV gives a run: the job of that run}}, from the notebooks' own tables."
    from weat_paper.models import STRIDECNN_DEPTHS
    from weat_paper.zoo import CPU_FIG4_MODELS
    return {"fig1a_energy_vs_pgd_steps": {a: _tagged("standard", 0, {} if a == "stridecnn" else {"arch": a}) for a in STRIDECNN_DEPTHS},
            "fig4_zoo_energy": {n: _tagged(*spec) for n, spec in CPU_FIG4_MODELS.items()}}

LATE_NOTEBOOKS = [(n, tuple(models.values())) for n, models in _late_models().items()]
EARLY_PARAMS = {"fig1a_energy_vs_pgd_steps": ["-y", "archs: [stridecnn]"]}     # its early run: the protocol's model only
FIG5A_JOBS = [("sat", k, f"fig5a-{s}") for k in (0, 1, 2) for s in "HRL"] + [("sat", 0, "fig5a-I"), ("sat", 0, "fig5a-C")] \
             + [("sat", k, "fig5a-full") for k in (0, 1, 2)]
LATE_NOTEBOOKS.append(("fig5a_energy_subsets", (("sat", 0, ""), *FIG5A_JOBS)))


def queue():
    """Jobs in the order they are run: seed 0 of Tab. 1a's six methods and natural training, the figure notebooks that
    read those models, seeds 1-4 (the ledger's GRID), then the experiments and the notebooks that read them.
    A job is (method, seed, tag) or ("notebook", name)."""
    from weat_paper.claims import GRID
    grid = [(m, s, "") for m, s in GRID]
    first = [j for j in grid if j[1] == 0]
    return (first + [("notebook", n) for n, _ in NOTEBOOKS] + [j for j in grid if j[1] != 0] + EXTRA
            + [("notebook", n, "late") for n, _ in LATE_NOTEBOOKS])


# Tab. 1c (Sec. 4.1): its ablation rows that Tab. 1a's grid lacks, three seeds each, recorded beside Tab. 1a's runs
def _ablations():
    from weat_paper.verdicts import ABLATIONS
    return ABLATIONS
TAB1C_JOBS = [(m, s, "") for s in (0, 1, 2) for m in _ablations()]

# in priority order: what the budget does not reach stays queued (the loop resumes where it stopped)
EXTRA = (TAB1C_JOBS[:2] + FIG5A_JOBS[11:] + TAB1C_JOBS[2:]                     # Tab. 1c's seed 0 and Fig. 5a's full split first
         + FIG5A_JOBS[:3] + [("standard", 0, "d2"), ("standard", 0, "d6")] + FIG5A_JOBS[3:9]     # Fig. 5a's H, R, L, then depths
         + [("sat", 0, "eps2"), ("sat", 0, "eps4"), ("standard", 1, ""), ("standard", 2, ""),
            ("sat", 1, "eps2"), ("sat", 1, "eps4"), ("sat", 2, "eps2"), ("sat", 2, "eps4")] + FIG5A_JOBS[9:11])


def notebook_done(name):
    "Whether the notebook's CSV records the current protocol fingerprint."
    from weat_paper.verdicts import csv_fingerprint
    csv_path = RECORDS.parent / f"{name}.csv"
    return csv_path.exists() and csv_fingerprint(csv_path) == fingerprint()


def late_done(name):
    "Whether the notebook's late run is done: its CSV has the current fingerprint and a row of each of its models."
    if not notebook_done(name): return False
    with open(RECORDS.parent / f"{name}.csv") as f: rows = list(csv.DictReader(f))
    if name == "fig5a_energy_subsets":                                 # a row per retrained subset and seed, and no other
        return {(t[6:], str(k)) for _, k, t in FIG5A_JOBS} == {(r.get("subset"), r.get("seed")) for r in rows}
    return set(_late_models()[name]) <= {r.get("model") for r in rows}


def done(job):
    if job[0] == "notebook": return late_done(job[1]) if job[2:] else notebook_done(job[1])
    return record_dir(*job) is not None


def ready(job):
    "A notebook job waits for the records of the runs it reads."
    return job[0] != "notebook" or all(record_dir(*j) is not None for j in dict(LATE_NOTEBOOKS if job[2:] else NOTEBOOKS)[job[1]])


def run_notebook(name, late=False):
    "Run a figure notebook under the protocol (its save_figure writes the result's record, fingerprint included)."
    out = ROOT / "runs" / "cpu_grid_logs" / f"{name}{'_late' if late else ''}.out.ipynb"
    params = [] if late else EARLY_PARAMS.get(name, [])
    subprocess.run([sys.executable, "-m", "papermill", f"nbs/{name}.ipynb", str(out), "-p", "protocol", PROTOCOL, *params], check=True, cwd=ROOT)
    if not notebook_done(name): raise SystemExit(f"cpu_grid: error: {name} ran but {name}.json does not record fingerprint {fingerprint()}")
    if late and not late_done(name): raise SystemExit(f"cpu_grid: error: {name} ran but its CSV lacks some of {', '.join(_late_models()[name])}")
    return RECORDS.parent / f"{name}.csv"


@functools.lru_cache(maxsize=None)
def fingerprint():
    from weat_paper.config import protocol_fingerprint
    return protocol_fingerprint(PROTOCOL)


def record_dir(method, seed, tag=""):
    "The committed record of a finished job with the current fingerprint, or None."
    fp = fingerprint()
    for d in sorted((EXPERIMENTS if tag else RECORDS).glob(f"{method}_cifar10_*_s{seed}_*")):
        rec = d / "record.json"
        if rec.exists():
            r = json.loads(rec.read_text())
            if r.get("method") == method and r.get("seed") == seed and r.get("tag", "") == tag and r.get("protocol_fingerprint") == fp \
                    and (tag or r.get("autoattack_images") and _aa_count(d) == N_AUTOATTACK): return d   # (without it: AutoAttack on one class)
    return None


def _aa_count(d):
    "How many test images the record's AutoAttack attacked (None without one)."
    return json.loads((d / "eval.json").read_text())["results"].get("autoattack", {}).get("settings", {}).get("n")


def _epoch_seconds(run_dir):
    "The training's own wall time: the sum of metrics.csv's per-epoch seconds."
    with open(run_dir / "metrics.csv") as f: return round(sum(float(r["seconds"]) for r in csv.DictReader(f)), 1)


def _arg(v):
    "A command-line value: a multiple of 1/255 as k/255 (the CLI reads it exactly; a rounded decimal names another run)."
    return f"{round(v * 255)}/255" if isinstance(v, float) and abs(v * 255 - round(v * 255)) < 1e-9 else str(v)


def run_job(method, seed, n_autoattack, tag=""):
    "Train, evaluate and record one job; returns the record directory."
    from weat_paper.train import train
    from weat_paper.evaluate import evaluate
    from weat_paper.utils import atomic_write
    options = TAGS[tag](method, seed) if tag else {}
    t0 = time.time()
    run_dir = Path(train(method, protocol=PROTOCOL, seed=seed, progress=False, **options))
    t1 = time.time()
    if tag:                                                           # the common robustness measure: PGD-20 at 8/255
        evaluate(run_dir, attacks=("clean", "pgd20"), n=None, eps=8 / 255, checkpoint="best.pt", progress=False)
        extra = dict(tag=tag, options={k: v for k, v in options.items() if k != "train_idx"},
                     train_images=len(options["train_idx"]) if "train_idx" in options else None)
    else:
        evaluate(run_dir, n=None, n_autoattack=n_autoattack, autoattack_attacks=("apgd-ce", "apgd-t"),   # the whole test split;
                 checkpoint="best.pt", progress=False)                         # AutoAttack on a seeded random subset of it
        extra = dict(autoattack_images=f"{n_autoattack} drawn at random from the test split (seed 0)")
    t2 = time.time()
    base = EXPERIMENTS if tag else RECORDS
    out = base / run_dir.name; tmp = base / (run_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True); tmp.mkdir(parents=True)
    for f in KEEP: shutil.copy(run_dir / f, tmp / f)
    opts = "".join(f" --{k.replace('_', '-')} {_arg(v)}" for k, v in options.items() if k != "train_idx")
    record = dict(method=method, seed=seed, protocol=PROTOCOL, protocol_fingerprint=fingerprint(), checkpoint="best.pt",
                  train_epoch_seconds=_epoch_seconds(run_dir), train_seconds_this_call=round(t1 - t0, 1),
                  eval_seconds_this_call=round(t2 - t1, 1), **extra,
                  command=f"python tools/cpu_grid.py --job {method} {seed} {tag}" if "train_idx" in options
                  else f"weat-train {method} --protocol {PROTOCOL} --seed {seed}{opts}")
    atomic_write(tmp / "record.json", json.dumps(record, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True); os.replace(tmp, out)
    return out


def times():
    "Per recorded run: (name, training seconds, PGD-20 seconds, AutoAttack seconds), from its record."
    out = []
    for d in sorted(p.parent for b in (RECORDS, EXPERIMENTS) for p in b.glob("*/record.json")):
        ev = json.loads((d / "eval.json").read_text())["results"]
        out.append((d.name, _epoch_seconds(d), ev["pgd20"]["seconds"], ev.get("autoattack", {}).get("seconds", 0.0)))
    return out


def _alive(pid_file):
    "Whether the job whose pid is in `pid_file` still runs (a restarted loop leaves it alone)."
    try: os.kill(int(pid_file.read_text()), 0); return True
    except (FileNotFoundError, ValueError, ProcessLookupError): return False
    except PermissionError: return True


def main(argv=None):
    global N_AUTOATTACK
    p = argparse.ArgumentParser(prog="cpu_grid", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=2, help="jobs at a time, one thread each (default 2)")
    p.add_argument("--n-autoattack", type=int, default=N_AUTOATTACK,
                   help=f"AutoAttack images, drawn at random from the test split (default {N_AUTOATTACK}); records with another count are re-evaluated")
    p.add_argument("--list", action="store_true", help="print the queue and what is done, and stop")
    p.add_argument("--times", action="store_true", help="print each recorded run's wall times and the projected rest, and stop")
    p.add_argument("--job", nargs="+", metavar="METHOD SEED [TAG]", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.jobs < 1: p.error(f"--jobs must be at least 1, got {a.jobs}")
    N_AUTOATTACK = a.n_autoattack
    if a.job:
        print(run_notebook(a.job[1], late=a.job[2:] == ["late"]) if a.job[0] == "notebook" else run_job(a.job[0], int(a.job[1]), a.n_autoattack, *a.job[2:])); return 0
    todo = [j for j in queue() if not done(j)]
    if a.times:
        t = times()
        for name, *secs in t: print(f"{name}: training {secs[0]:.0f} s, PGD-20 {secs[1]:.0f} s, AutoAttack {secs[2]:.0f} s")
        per = sorted(sum(x) for _, *x in t)[len(t) // 2] if t else float("nan")
        runs_left = sum(j[0] != "notebook" for j in todo)
        print(f"median run {per / 60:.1f} min; {runs_left} runs left: about {runs_left * per / a.jobs / 3600:.1f} h at {a.jobs} at a time")
        return 0
    if a.list:
        for j in queue(): print(f"{j[0]:12s} {'seed ' + str(j[1]) + (' ' + j[2] if j[2] else '') if j[0] != 'notebook' else ' '.join(j[1:])}: {'to do' if j in todo else 'done'}")
        return 0
    logs = ROOT / "runs" / "cpu_grid_logs"; logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    stem = lambda j: "_".join(j) if j[0] == "notebook" else f"{j[0]}_s{j[1]}" + (f"_{j[2]}" if j[2] else "")
    pid_file = lambda j: logs / f"{stem(j)}.pid"
    procs = []
    while todo:
        procs = [pr for pr in procs if pr.poll() is None]         # reap this loop's finished jobs
        busy = [j for j in queue() if _alive(pid_file(j))]        # this loop's jobs and those a stopped loop left running
        todo = [j for j in todo if j not in busy and not done(j)]
        ok = [j for j in todo if ready(j)]
        if not busy and todo and not ok: print("left, waiting on runs that failed:", todo, flush=True); break
        for j in ok[:max(0, a.jobs - len(busy))]:
            log = open(logs / f"{stem(j)}.log", "a")
            cmd = ["nice", "-n", "19", sys.executable, __file__, "--job", *map(str, j), "--n-autoattack", str(a.n_autoattack)]
            pr = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
            pid_file(j).write_text(str(pr.pid)); todo.remove(j); procs.append(pr)
            print(time.strftime("%H:%M:%S"), "started", *j, flush=True)
        time.sleep(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
