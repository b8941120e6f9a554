"""Benchmarks: the training step (`step`, the `weat-bench` command), a training epoch (`loop`, `weat-bench --loop`) and the GPU check (`gpu`)."""
from .step import main       # the `weat-bench` command, also as weat_paper.bench.main
