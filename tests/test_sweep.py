"""`weat-sweep` across processes. The local launcher runs each run as a submitit job, the code path of `--launcher slurm`
(the job pickled into its folder, started as a process by submitit, requeued through `RunJob.checkpoint`); a sequential
sweep is the reference. Killed and pre-empted jobs, and a killed sequential sweep, end with the same results.

Tolerance: none. Every process trains with one CPU thread, so each run executes the same float operations in the same
order as in the reference, and a resumed run restores every generator's state (tests/test_kill_resume.py shows
resumption is bit-identical); the results table, each run's metrics.csv (but its wall-clock column) and eval.json's
accuracies must be equal, bit for bit."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
import torch

BIN = Path(sys.executable).parent
GRID = ["--methods", "trades", "sat", "--dataset", "digits", "--epochs", "6", "--set", "steps=2", "n_per_class=30",
        "batch_size=32", "track_n=32", "--attacks", "clean", "pgd20", "--n", "100", "--device", "cpu"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
RUNS = ("trades_digits_smallcnn_e6_s0_n30_h", "sat_digits_smallcnn_e6_s0_n30_h")


def weat_sweep(runs, *extra):
    return subprocess.Popen([str(BIN / "weat-sweep"), *GRID, "--runs", str(runs), *extra], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(p, timeout=600):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def run_dirs(runs):
    dirs = sorted(d for d in Path(runs).iterdir() if d.is_dir() and not d.name.startswith("."))
    assert [d.name[:len(p)] for d, p in zip(dirs, sorted(RUNS))] == sorted(RUNS), dirs
    return dirs


def epochs_saved(d):
    p = d / "last.pt"
    try: return torch.load(p, weights_only=True)["epoch"] if p.is_file() else 0
    except Exception: return 0          # being replaced right now


def wait_until(cond, timeout=300):
    t = time.time()
    while time.time() - t < timeout:
        if cond(): return True
        time.sleep(0.01)
    return False


def worker_of(job):
    "PID of the submitit worker process (python -m submitit.core._submit) of local job `job`."
    for p in Path("/proc").iterdir():
        if not p.name.isdigit(): continue
        try: cmd, env = (p / "cmdline").read_bytes(), (p / "environ").read_bytes().split(b"\0")
        except OSError: continue
        if b"submitit.core._submit" in cmd and f"SUBMITIT_LOCAL_JOB_ID={job}".encode() in env: return int(p.name)


def job_of(log, run):
    "The local job id the launcher reported (on its stderr, in file `log`) for the run whose name starts with `run`."
    for line in Path(log).read_text().splitlines():
        if line.startswith(run) and ": started as local job " in line: return line.split()[-1]


def same_results(a, b):
    for da, db in zip(run_dirs(a), run_dirs(b)):
        ma, mb = (pd.read_csv(d / "metrics.csv").drop(columns=["seconds"]) for d in (da, db))
        pd.testing.assert_frame_equal(ma, mb, check_exact=True)
        ea, eb = (json.loads((d / "eval.json").read_text())["results"] for d in (da, db))
        assert {k: v["accuracy"] for k, v in ea.items()} == {k: v["accuracy"] for k, v in eb.items()}, (ea, eb)
        wa, wb = (torch.load(d / "best.pt", weights_only=True)["model"] for d in (da, db))
        assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_local_launcher_killed_and_preempted_jobs_equal_sequential_sweep(tmp_path):
    code, ref_table, err = finish(weat_sweep(tmp_path / "seq"))                     # the reference: one after another
    assert code == 0 and "pgd20_mean" in ref_table, err[-2000:]

    launched, log = tmp_path / "local", tmp_path / "launcher.err"
    with open(log, "w") as f:
        p = subprocess.Popen([str(BIN / "weat-sweep"), *GRID, "--runs", str(launched), "--launcher", "local", "--workers", "2"],
                             env=ENV, text=True, stdout=subprocess.PIPE, stderr=f)
    # both runs train at once, each in its own submitit worker process; once a run has saved an epoch (of 6), its worker
    # dies (SIGKILL: the OOM killer, a node failure) or is pre-empted (SIGUSR2: submitit calls RunJob.checkpoint, requeues)
    for run, sig in zip(RUNS, (signal.SIGKILL, signal.SIGUSR2)):
        assert wait_until(lambda: any(epochs_saved(d) >= 1 for d in launched.glob(run + "*"))), run
        d = next(launched.glob(run + "*"))
        pid = worker_of(job_of(log, run))
        assert pid and epochs_saved(d) < 6, (run, pid, epochs_saved(d))
        os.kill(pid, sig)
    out, _ = p.communicate(timeout=600); err = log.read_text()
    code, table = p.returncode, out
    assert code == 1 and "1 of 2 runs did not finish" in err and "re-run the same command" in err, err[-3000:]
    assert "started as local job" in err and err.count(": finished") == 1, err[-3000:]   # the requeued job finished
    assert sum(1 for d in launched.glob("*_n30_*") if json.loads((d / "status.json").read_text())["finished"]) == 1

    code, table, err = finish(weat_sweep(launched, "--launcher", "local", "--workers", "2"))    # the sweep re-run
    assert code == 0 and table == ref_table, (table, ref_table, err[-2000:])
    assert err.count("started as local job") == 1, err                   # only the killed run was submitted again
    same_results(launched, tmp_path / "seq")

    killed = tmp_path / "seq_killed"                                     # a sequential sweep killed during its 2nd run
    p = weat_sweep(killed)
    assert wait_until(lambda: any(epochs_saved(d) >= 1 for d in killed.glob("sat_*")))
    p.send_signal(signal.SIGKILL); p.wait()
    code, table, err = finish(weat_sweep(killed))
    assert code == 0 and table == ref_table and "resumed from epoch" in err, (table, err[-2000:])
    same_results(killed, tmp_path / "seq")
