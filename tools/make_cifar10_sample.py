"""Make weat_paper/fixtures/cifar10_sample.npz: a small, class-balanced, seeded sample of the CIFAR-10 JPEG archive
(100 training and 30 test images per class, ~400 KB), for the tests that need real images and must always run.

The JPEG files are stored byte for byte (concatenated, with offsets), so the sample's pixels are exactly the archive's;
their archive names are stored too, so a test can check them against the archive when it is there.

    python tools/make_cifar10_sample.py [--archive cifar10-jpg.tar.gz] [--train 100] [--test 30]   (default: $WEAT_CIFAR10_JPG)
"""
import argparse, os, tarfile
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--archive", default=os.environ.get("WEAT_CIFAR10_JPG"), help="the CIFAR-10 JPEG archive (default: $WEAT_CIFAR10_JPG)")
    p.add_argument("--train", type=int, default=100, help="training images per class")
    p.add_argument("--test", type=int, default=30, help="test images per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "weat_paper/fixtures/cifar10_sample.npz"))
    a = p.parse_args()
    if not a.archive or not Path(a.archive).is_file(): p.error(f"no CIFAR-10 JPEG archive at {a.archive!r}: give --archive or set WEAT_CIFAR10_JPG")
    rng = np.random.default_rng(a.seed)
    out = {}
    with tarfile.open(a.archive) as t:
        members = {m.name.removeprefix("./"): m for m in t.getmembers() if m.isfile() and m.name.endswith(".jpg")}
        classes = sorted({k.split("/")[1] for k in members if k.startswith("train/")})
        for split, n in (("train", a.train), ("test", a.test)):
            blobs, labels, names = [], [], []
            for i, c in enumerate(classes):
                files = sorted(k for k in members if k.startswith(f"{split}/{c}/"))
                for j in sorted(rng.choice(len(files), n, replace=False)):
                    blobs.append(t.extractfile(members[files[j]]).read()); labels.append(i); names.append(files[j])
            out[f"{split}_jpeg"] = np.frombuffer(b"".join(blobs), np.uint8)
            out[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
            out[f"{split}_labels"] = np.array(labels, np.int64)
            out[f"{split}_names"] = np.array(names)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, classes=np.array(classes), **out)
    print(f"{a.out}: {sum(len(v) for k, v in out.items() if k.endswith('_labels'))} images, {Path(a.out).stat().st_size / 1e3:.0f} KB")

if __name__ == "__main__": main()
