"""The GPU check (`tools/gpu_check.sh`, weat_paper.bench.gpu) at tiny sizes on a CPU (`--smoke`): the same code path as
on a GPU, from the shell script to the JSON records and the BENCHMARKS.md rows, on a JPEG archive of CIFAR-10's layout."""
import json, math, os, subprocess, sys, tarfile, time
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    "A CIFAR-10-shaped JPEG archive: 10 random 32x32 train and 4 test images per class."
    from PIL import Image
    d = tmp_path_factory.mktemp("jpg"); rng = np.random.default_rng(0)
    for split, n in (("train", 10), ("test", 4)):
        for c in CLASSES:
            (d / "cifar10-jpg" / split / c).mkdir(parents=True)
            for i in range(n): Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / "cifar10-jpg" / split / c / f"{i:04d}.jpg")
    with tarfile.open(d / "tiny.tar.gz", "w:gz") as t: t.add(d / "cifar10-jpg", arcname="cifar10-jpg")
    return d / "tiny.tar.gz"

def check(tmp, archive, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable}
    t = time.time()
    r = subprocess.run(["bash", str(ROOT / "tools/gpu_check.sh"), "--smoke", "--device", "cpu", "--archive", str(archive),
                        "--root", str(tmp / "data"), "--out", str(tmp / "out"), *extra], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r, time.time() - t, json.loads((tmp / "out" / "summary.json").read_text())

def test_smoke_runs_every_part_and_writes_the_rows(tmp_path, archive):
    r, seconds, s = check(tmp_path, archive)
    assert s["seconds"] <= s["total_budget_s"] + 5       # the check keeps to its own budget (55 s with --smoke)
    parts = ["bench_plain", "bench_amp_cl", "prep", "epoch", "attacks", "bench_compile"]
    assert list(s["parts"]) == parts and all(s["parts"][p]["status"] == "done" for p in parts), s["parts"]
    for p in parts[:2] + parts[3:]: assert (tmp_path / "out" / f"{p}.json").is_file()
    assert s["parts"]["prep"]["key"]["train_images"] == 100 and s["parts"]["prep"]["key"]["test_images"] == 40
    ep = s["parts"]["epoch"]["key"]          # 90 training images (10 % held out) in batches of 8
    assert ep["batches"] == math.ceil(90 / 8) and 0 < ep["loop_efficiency"] < 1
    assert abs(sum(ep["parts_s"].values()) - ep["wall_s"]) < 1e-6
    at = s["parts"]["attacks"]["key"]
    assert at["images"] == 12 and 0 <= at["autoattack"] <= at["clean"] <= 100 and 0 <= at["pgd20"] <= 100
    comp = json.loads((tmp_path / "out" / "bench_compile.json").read_text())
    assert comp["record"]["options"]["compile"] and comp["record"]["options"]["amp"]
    assert "| cpu | plain (fp32) |" in r.stdout and "| cpu | WEAT_adv, smallcnn, CIFAR-10" in r.stdout
    assert s["rows"] == r.stdout.strip().splitlines()[-len(s["rows"]):]

def test_budget_stops_parts_and_records_what_was_skipped(tmp_path, archive):
    r, seconds, s = check(tmp_path, archive, "--total", "1.5")
    st = {p: v["status"] for p, v in s["parts"].items()}
    assert st["bench_compile"] == "skipped: no time left in the check's budget", st
    assert all(v == "done" or v.startswith(("stopped at its budget", "skipped")) for v in st.values()), st
    assert "not measured: skipped" in r.stdout
