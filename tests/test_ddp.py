"""Data-parallel training by the book: `weat-train` under `torchrun` with 2 CPU processes (Gloo), started as two nodes
that meet through the c10d rendezvous (the multi-node command, on one machine), ends with the weights of 1 process
training on the same global batch.

The model has no batch norm: without `--sync-bn` each rank normalises by its own shard's statistics, which is another
computation (with `--sync-bn` the statistics are the global batch's, but PyTorch's SyncBatchNorm runs on GPUs only).
Everything else is the same computation in another order: each rank attacks its contiguous half of every batch, starting
from its slice of the random start drawn for the whole batch, and DistributedDataParallel averages the ranks'
gradients of their shard losses, scaled by shard size / (global batch / 2) so that an odd last batch weighs as in one
process; the per-epoch evaluation shards every batch the same way, so both runs draw the same random numbers.

Tolerance: the gradients differ only in float32 summation order (each rank sums its shard, then the all-reduce sums the
ranks), i.e. by a few units of float32's epsilon (6e-8) relative, per step. Over 15 steps of SGD with momentum (the one-
cycle rate peaks at 0.1) and the attacks' iterations, these differences compound; measured: 1e-6 on weights of
magnitude up to 0.3. We allow 1e-5. A data-parallel run that got the batch wrong (each rank training on a whole batch
of its own, or the shards not rescaled) differs by ~1e-2, which the negative control below checks the test would see."""
import os, shutil, socket, subprocess, sys
from pathlib import Path
import pandas as pd
import torch

SCRIPT = '''import sys, torch.nn as nn
from weat_paper.models import ARCHS
from weat_paper.train import main
ARCHS["mlp"] = lambda k, c: nn.Sequential(nn.Flatten(), nn.Linear(c * 64, 64), nn.ReLU(), nn.Linear(64, k))   # no batch norm
sys.exit(main(sys.argv[1:]))
'''
# 29 images per class: 261 training images, batches of 64 and a last batch of 5 (shards of 3 and 2)
ARGS = ["trades", "--arch", "mlp", "--n-per-class", "29", "--epochs", "3", "--steps", "2", "--track-n", "32",
        "--no-progress", "--device", "cpu", "--seed", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def weights(d): return torch.load(d / "last.pt", weights_only=True)["model"]


def max_diff(a, b): return max((a[k] - b[k]).abs().max().item() for k in a)


def test_two_gloo_processes_equal_one_process(tmp_path):
    script = tmp_path / "run.py"; script.write_text(SCRIPT)
    one, two, naive = tmp_path / "one", tmp_path / "two", tmp_path / "naive"
    r = subprocess.run([sys.executable, str(script), *ARGS, "--batch-size", "64", "--out-dir", str(one)], env=ENV,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    # two "nodes" of one process each, meeting through torchrun's c10d rendezvous: the multi-node command, on one machine
    with socket.socket() as sock: sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    nodes = [subprocess.Popen([torchrun, "--nnodes", "2", "--nproc_per_node", "1", "--rdzv-backend", "c10d",
                               "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "ddp-test", str(script), *ARGS,
                               "--batch-size", "64", "--out-dir", str(two)], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in nodes]
    assert all(p.returncode == 0 for p in nodes), [e[-3000:] for _, e in outs]
    assert sum(o.count(str(two)) for o, _ in outs) == 1                   # rank 0 alone reports
    cfg = pd.read_json(two / "config.json", typ="series")
    assert cfg["world_size"] == 2 and cfg["batch_size"] == 64 and not cfg["sync_bn"]
    w1, w2 = weights(one), weights(two)
    assert max_diff(w1, w2) <= 1e-5, max_diff(w1, w2)
    m1, m2 = (pd.read_csv(d / "metrics.csv").drop(columns=["seconds"]) for d in (one, two))
    assert (m1.epoch == m2.epoch).all() and len(m1) == 3
    pd.testing.assert_frame_equal(m1, m2, check_exact=False, atol=1e-4, rtol=0)          # losses, accuracies, energies
    # negative control: one process with each rank's share (32) as its whole batch is a different training
    r = subprocess.run([sys.executable, str(script), *ARGS, "--batch-size", "32", "--out-dir", str(naive)], env=ENV,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert max_diff(w1, weights(naive)) > 100 * 1e-5, max_diff(w1, weights(naive))
