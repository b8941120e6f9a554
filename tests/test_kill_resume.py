"""A pre-empted job loses nothing: `weat-train` killed with SIGKILL at random moments, or stopped by a full disk while
writing a checkpoint, and re-run with the same command ends with the same metrics.csv and weights, bit for bit, as a run
that was never interrupted; `evaluate` killed inside an AutoAttack chunk resumes to the same eval.json."""
import json, os, random, resource, shutil, signal, subprocess, sys, time
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

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}

@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    "An uninterrupted run, and the seconds it took."
    ref = tmp_path_factory.mktemp("ref") / "run"
    t0 = time.time()
    r = subprocess.run(cmd(ref), env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return ref, time.time() - t0

def assert_same_run(a, b):
    "metrics.csv (but the clock) and the weights of last.pt and best.pt equal, bit for bit."
    pd.testing.assert_frame_equal(comparable(a), comparable(b), check_exact=True)
    for ck in ("last.pt", "best.pt"):
        x, y = (torch.load(d / ck, weights_only=True)["model"] for d in (a, b))
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), ck

def test_sigkill_and_resume_is_bit_identical(reference, tmp_path):
    env = ENV
    ref, full = reference
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
    assert_same_run(killed, ref)

def test_disk_full_while_writing_a_checkpoint(reference, tmp_path):
    "A checkpoint that cannot be written (here: a file-size limit, EFBIG) ends the run with one line; re-running resumes exactly."
    ref, _ = reference
    out = tmp_path / "full"
    r = subprocess.run(cmd(out) + ["--stop-after", "2"], env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    size = (out / "last.pt").stat().st_size
    def small_files():            # every later file write beyond size/2 bytes fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, resource.RLIM_INFINITY))
    r = subprocess.run(cmd(out), env=ENV, capture_output=True, text=True, preexec_fn=small_files)
    assert r.returncode == 4, r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("weat-train: error:") and "cannot write checkpoint" in last and "re-run the same command" in last, last
    assert not list(out.glob("*.tmp")), list(out.iterdir())                       # no half-written checkpoint left
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 2           # the previous checkpoint is kept
    r = subprocess.run(cmd(out), env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert_same_run(out, ref)

EVAL = ("import sys; from weat_paper.evaluate import evaluate; "
        "evaluate(sys.argv[1], n=16, batch_size=4, device='cpu', root=sys.argv[2], autoattack_attacks=('apgd-ce', 'apgd-t'))")

def eval_results(run):
    "eval.json's results without the clock."
    rec = json.loads((run / "eval.json").read_text())
    return {a: {k: v for k, v in r.items() if k != "seconds"} for a, r in rec["results"].items()}

def test_sigkill_during_autoattack_resumes_to_the_same_eval(reference, tmp_path):
    ref, _ = reference
    runs = {k: tmp_path / k for k in ("whole", "killed")}
    for d in runs.values():
        d.mkdir(); [shutil.copy(ref / f, d / f) for f in ("config.json", "best.pt")]
    ev = lambda d: [sys.executable, "-c", EVAL, str(d), str(tmp_path / "data")]
    r = subprocess.run(ev(runs["whole"]), env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    state = runs["killed"] / "autoattack_state.json"
    done = lambda: len(json.loads(state.read_text())["done"]) if state.is_file() else 0
    p = subprocess.Popen(ev(runs["killed"]), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.time()
    while p.poll() is None and done() < 5 and time.time() - t < 600: time.sleep(0.01)
    assert p.poll() is None, "evaluate ended before it could be killed"
    p.send_signal(signal.SIGKILL); p.wait()
    n_done = done()
    assert 5 <= n_done < 8, n_done                      # killed inside AutoAttack (2 attacks x 4 chunks), after APGD-CE
    assert "autoattack" not in json.loads((runs["killed"] / "eval.json").read_text())["results"]
    r = subprocess.run(ev(runs["killed"]), env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not state.exists()
    assert eval_results(runs["killed"]) == eval_results(runs["whole"])
