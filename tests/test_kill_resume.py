"""A pre-empted job loses nothing: `weat-train` killed with SIGKILL at random moments and re-run with the same command
ends with the same metrics.csv and weights, bit for bit, as a run that was never interrupted."""
import os, random, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
import torch

BIN = Path(sys.executable).parent
ARGS = ["trades", "--dataset", "digits", "--n-per-class", "30", "--epochs", "4", "--batch-size", "64", "--steps", "3",
        "--track-n", "32", "--no-progress", "--device", "cpu", "--seed", "3"]
CLOCK = ("seconds", "time", "elapsed")   # wall-clock columns differ between any two runs

def cmd(out): return [str(BIN / "weat-train"), *ARGS, "--out-dir", str(out)]

def finished(out):
    m = out / "metrics.csv"
    return m.is_file() and len(pd.read_csv(m)) == 4

def comparable(out):
    m = pd.read_csv(out / "metrics.csv")
    return m[[c for c in m.columns if not any(k in c for k in CLOCK)]]

def test_sigkill_and_resume_is_bit_identical(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    ref = tmp_path / "ref"
    t0 = time.time()
    r = subprocess.run(cmd(ref), env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    full = time.time() - t0
    killed = tmp_path / "killed"
    rng = random.Random(0)

    def wait_for(cond, p, timeout):
        t = time.time()
        while p.poll() is None and time.time() - t < timeout:
            if cond(): return True
            time.sleep(0.005)
        return False

    ckpt = killed / "last.pt"
    n_ckpt = lambda: torch.load(ckpt, weights_only=True)["epoch"] if ckpt.is_file() else 0
    moments = [  # (what the run has done when it is killed, how to wait for that moment)
        ("start-up or first epoch", lambda p: time.sleep(rng.uniform(0.2, 0.6) * full) or True),
        ("mid-epoch after a checkpoint", lambda p: wait_for(lambda: n_ckpt() >= 2, p, 3 * full) and (time.sleep(rng.uniform(0.0, 0.15) * full) or True)),
        ("while writing a checkpoint", lambda p: wait_for(lambda: any(killed.glob("*.tmp")), p, 3 * full)),
    ]
    hits = []
    for what, wait in moments:
        epochs_before = n_ckpt()
        p = subprocess.Popen(cmd(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait(p) and p.poll() is None:
            p.send_signal(signal.SIGKILL); hits.append((what, epochs_before, n_ckpt()))
        p.wait()
    for _ in range(3):                       # re-run the same command until the run is complete
        if finished(killed): break
        subprocess.run(cmd(killed), env=env, capture_output=True)
    assert finished(killed)
    assert len(hits) >= 2 and any(after >= 1 for _, _, after in hits), hits     # killed at least once after a checkpoint
    pd.testing.assert_frame_equal(comparable(killed), comparable(ref), check_exact=True)
    a = torch.load(killed / "last.pt", weights_only=True)["model"]
    b = torch.load(ref / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    a = torch.load(killed / "best.pt", weights_only=True)["model"]
    b = torch.load(ref / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
