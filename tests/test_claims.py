"The committed claims ledger (figures/claims.csv, figures/claims.md, README's summary) agrees with the committed CSVs."
import math
from pathlib import Path
import numpy as np
import pandas as pd
from weat_paper.claims import ledger, ledger_markdown, ledger_summary, figure_csvs, CLAIMS, SCALES

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "figures"


def test_ledger_matches_csvs():
    "Recomputed from the CSVs, every verdict, measurement and noise equals the committed ledger's."
    now = ledger(FIG)
    committed = pd.read_csv(FIG / "claims.csv", keep_default_na=False)
    assert list(committed.claim) == list(now.claim) and list(committed.scale) == list(now.scale), "claims or scales changed: rerun write_ledger()"
    for a, b in zip(committed.itertuples(), now.itertuples()):
        where = f"{b.claim} at {b.scale}"
        assert (a.verdict, a.measured, a.noise) == (b.verdict, b.measured, b.noise), f"{where}: ledger says {a.verdict!r}, the CSVs give {b.verdict!r}"
        for k in ("effect", "noise_value"):
            x, y = float(getattr(a, k) or "nan"), getattr(b, k)
            assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-9), where
    text = (FIG / "claims.md").read_text()
    assert ledger_markdown(now) in text, "figures/claims.md disagrees with the CSVs: rerun write_ledger()"
    for line in ledger_summary(now): assert line in text


def test_readme_summary():
    "Each summary line that README.md quotes is the ledger's current one."
    readme = (ROOT / "README.md").read_text()
    lines = ledger_summary(ledger(FIG))
    quoted = [l for l in lines if l.split(":")[0] + ":" in readme]
    for l in quoted: assert l in readme, f"README's ledger summary is out of date; now: {l}"


def test_tab2a_verdict_independently():
    "Tab. 2a's verdict at each scale from a direct reading of the CSV: WEAT's |ΔE(x)| below every other method's."
    led = ledger(FIG).set_index(["claim", "scale"])
    for s in SCALES:
        ps = figure_csvs("table2a_delta_energy", s, FIG)
        if not ps: assert led.loc[("tab2a_order", s), "verdict"] == "not measured yet"; continue
        d = pd.read_csv(ps[0]).assign(gap=lambda d: d.train_dE_x.abs()).groupby("method").gap.mean()
        weat_smallest = d[[m for m in d.index if m.startswith("weat")]].max() < d[[m for m in d.index if not m.startswith("weat")]].min()
        v = led.loc[("tab2a_order", s), "verdict"]
        assert v == "within noise" or (v == "holds") == weat_smallest, (s, v, d.to_dict())


def test_phases_verdict_independently():
    "Fig. 3's verdict where SAT was run: 'holds' only if SAT's robust test error ends above its minimum and its ΔE(x) ends below where that minimum was."
    led = ledger(FIG).set_index(["claim", "scale"])
    for s in SCALES:
        for p in figure_csvs("fig3_phases", s, FIG):
            d = pd.read_csv(p)
            if "sat" not in set(d.method): continue
            sat = d[d.method == "sat"].sort_values("epoch").reset_index(drop=True)
            best = sat.robust_test_error.idxmin()
            if led.loc[("phases", s), "verdict"] == "holds":
                assert sat.robust_test_error.iloc[-1] > sat.robust_test_error[best] and sat.train_dE_x.iloc[-1] < sat.train_dE_x[best]
            break
