"The committed claims ledger (figures/claims.csv, figures/claims.md, README's summary) agrees with the committed CSVs; its seed-based verdicts agree with an independent Welch test."
import json, math
from pathlib import Path
import numpy as np
import pandas as pd
from scipy import stats
from weat_paper.claims import ledger, ledger_markdown, ledger_summary, SCALES, CLAIMS
from weat_paper.verdicts import current_fingerprint

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "figures"
LEDGER = ledger(FIG)


def test_ledger_matches_csvs():
    "Recomputed from the CSVs, every verdict, measurement and noise equals the committed ledger's."
    committed = pd.read_csv(FIG / "claims.csv", keep_default_na=False)
    assert len(CLAIMS) >= 25
    assert list(committed.claim) == list(LEDGER.claim) and list(committed.scale) == list(LEDGER.scale), "claims or scales changed: rerun write_ledger()"
    for a, b in zip(committed.itertuples(), LEDGER.itertuples()):
        where = f"{b.claim} at {b.scale}"
        assert (a.verdict, a.measured, a.noise, a.reason) == (b.verdict, b.measured, b.noise, b.reason), f"{where}: ledger says {a.verdict!r}, the CSVs give {b.verdict!r}"
        for k in ("effect", "se", "df"):
            x, y = float(getattr(a, k) or "nan"), getattr(b, k)
            assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-9), (where, k)
    text = (FIG / "claims.md").read_text()
    assert ledger_markdown(LEDGER) in text, "figures/claims.md disagrees with the CSVs: rerun write_ledger()"
    for line in ledger_summary(LEDGER): assert line in text


def test_readme_summary():
    "README.md quotes the ledger's current summary line for every scale (a missing line fails too)."
    readme = (ROOT / "README.md").read_text()
    lines = ledger_summary(LEDGER)
    assert len(lines) == len(SCALES)
    for l in lines: assert l in readme, f"README's ledger summary is out of date or missing; now: {l}"


def test_measured_rows_use_the_current_protocol():
    "A measured CPU-scale row was read from CSVs of the current protocol fingerprint only; every row names its checkpoint, seeds and images."
    fp = current_fingerprint("cifar10-cpu")
    cpu = LEDGER[(LEDGER.scale == "cifar10-cpu") & (LEDGER.verdict != "not measured yet")]
    for r in cpu.itertuples(): assert r.fingerprint == fp, (r.claim, r.fingerprint, fp)
    for r in LEDGER[LEDGER.verdict != "not measured yet"].itertuples():
        assert r.checkpoint and r.seeds != "—" and r.images != "—", r.claim
    for r in LEDGER[LEDGER.verdict == "not measured yet"].itertuples(): assert r.reason, r.claim


# --- the seed-based verdicts, recomputed here with scipy's Welch test from the per-seed rows --------------------------
def _pair(a, b):
    "'holds' / 'does not hold' / 'undetermined' for mean(a) > mean(b): scipy's Welch t against its 95 % critical value."
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not len(a) or not len(b): return "not measured yet"
    if len(a) < 2 or len(b) < 2: return "undetermined"
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0: return "undetermined"
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    crit = stats.t.ppf(0.975, df)
    return "holds" if r.statistic > crit else "does not hold" if r.statistic < -crit else "undetermined"


def _all(pairs):
    "A claim of several comparisons holds when all hold and does not hold when one does not."
    v = [_pair(a, b) for a, b in pairs]
    if not v or "not measured yet" in v: return "not measured yet"
    return "does not hold" if "does not hold" in v else "holds" if all(x == "holds" for x in v) else "undetermined"


def _csv(scale, name):
    ps = sorted((FIG / scale).glob(f"{name}*.csv"))
    return pd.read_csv(ps[0]) if ps else None


def _fingerprint(scale, name):
    "The protocol fingerprint the JSON record beside a result CSV names (None without one)."
    ps = sorted((FIG / scale).glob(f"{name}*.json"))
    return json.loads(ps[0].read_text()).get("protocol_fingerprint") if ps else None


def _tab1a(acc):
    v = lambda m, k: acc[(acc.method == m) & (acc.metric == k)].accuracy
    robust = sorted(set(acc.method) - {"standard"})
    return {"weat_vs_trades": _all([(v("weat_adv", "pgd20"), v("trades", "pgd20"))]),
            "weat_adv_aa": _all([(v("weat_adv", "autoattack"), v(o, "autoattack")) for o in robust if o != "weat_adv"]),
            "weat_nat_clean": _all([(v("weat_nat", "clean"), v(o, "clean")) for o in robust if o != "weat_nat"])}


def _tab1c(acc):
    "Tab. 1c's four statements over its rows' per-seed runs (the paper's Tab. 1c is on CIFAR-100; these, CIFAR-10)."
    v = lambda m, k: acc[(acc.method == m) & (acc.metric == k)].accuracy
    rows = ("mart", "abl_ce_ceadv_mart", "abl_ce_ceadv", "abl_kl_ceadv", "trades", "abl_kl_cenat_pm_all")
    return {"tab1c_bce": _all([(v("mart", "pgd20"), v("abl_ce_ceadv_mart", "pgd20"))]),
            "tab1c_kl_inner": _all([(v("abl_kl_ceadv", k), v("abl_ce_ceadv", k)) for k in ("clean", "autoattack")]),
            "tab1c_pm_weight": _all([(v("trades", k), v("abl_kl_cenat_pm_all", k)) for k in ("pgd20", "autoattack")]),
            "tab1c_weat": _all([(v("weat_adv", k), v(o, k)) for o in rows for k in ("pgd20", "autoattack")]
                               + [(v("weat_nat", "clean"), v(o, "clean")) for o in rows])}


def _one(v):
    "'holds' / 'does not hold' / 'undetermined' for mean(v) > 0 over seeds: scipy's one-sample t against its 95 % critical value."
    v = np.asarray(v, float)
    if not len(v): return "not measured yet"
    if len(v) < 2 or v.std() == 0: return "undetermined"
    t, crit = stats.ttest_1samp(v, 0).statistic, stats.t.ppf(0.975, len(v) - 1)
    return "holds" if t > crit else "does not hold" if t < -crit else "undetermined"


def _slope(g, col, late):
    "Slope over the third phase (the last third of the epochs) or over the first two (after the first quarter's warm-up)."
    g = g.sort_values("epoch"); e = g.epoch
    m = e > e.max() * 2 / 3 if late else (e > e.max() / 4) & (e <= e.max() * 2 / 3)
    return np.polyfit(e[m], g[col][m], 1)[0]


def _curves(cur):
    last = cur.sort_values("epoch").groupby(["method", "seed"]).tail(1)
    sat = [g for _, g in cur[cur.method == "sat"].groupby("seed")]
    out = {"trades_mitigates": "not measured yet",
           "sat_third_phase": _one([_slope(g, "train_dE_x", False) - _slope(g, "train_dE_x", True) for g in sat]),
           "sat_overfits": _one([_slope(g, "robust_test_error", True) for g in sat])}
    if {"sat", "trades"} <= set(cur.method):
        s = {m: [_slope(g, "robust_test_error", True) for _, g in cur[cur.method == m].groupby("seed")] for m in ("sat", "trades")}
        out["trades_mitigates"] = _all([(s["sat"], s["trades"])])
    out["tab2a_order"] = _tab2a(last)
    return out


def _tab2a(last):
    last = last[last.method != "standard"].assign(gap=lambda d: d.train_dE_x.abs())
    weat = [m for m in last.method.unique() if m.startswith("weat")]; rest = [m for m in last.method.unique() if not m.startswith("weat")]
    return _all([(last[last.method == o].gap, last[last.method == w].gap) for w in weat for o in rest])   # none: not measured


def test_seed_verdicts_independently():
    "Every seed-based verdict the per-seed CSVs allow is recomputed here and agrees; at least one is checked, and none is skipped silently."
    led = LEDGER.set_index(["claim", "scale"]).verdict
    expected = {}
    acc, cur = _csv("cifar10-cpu", "table1a_seeds"), _csv("cifar10-cpu", "training_curves_seeds")
    if acc is not None: expected.update({(k, "cifar10-cpu"): v for k, v in _tab1a(acc).items()})
    assert acc is None or not acc.method.str.startswith("abl_").any(), "Tab. 1c's ablation runs belong in table1c_seeds.csv"
    c1c = _csv("cifar10-cpu", "table1c_seeds")
    if c1c is not None: expected.update({(k, "cifar10-cpu"): v for k, v in _tab1c(c1c).items()})
    if cur is not None: expected.update({(k, "cifar10-cpu"): v for k, v in _curves(cur).items()})
    for scale in SCALES:           # Fig. 5a: H against R and against L, over the retraining seeds of the per-seed rows
        fa = _csv(scale, "fig5a_energy_subsets")
        fp = _fingerprint(scale, "fig5a_energy_subsets")
        if fa is None or "seed" not in fa or not (fp == current_fingerprint(scale) or fp is None and scale == "digits"): continue
        e = lambda s: fa[fa.subset == s].robust_error
        expected[("energy_subsets", scale)] = _all([(e("H"), e("R"))])
        expected[("low_energy_less", scale)] = _all([(e("H"), e("L"))])
    t2a = _csv("digits", "table2a_delta_energy")
    assert t2a is not None and "seed" in t2a, "the digits Tab. 2a per-seed CSV is gone"
    expected[("tab2a_order", "digits")] = _tab2a(t2a)
    for key in [("weat_vs_trades", "cifar10-cpu"), ("weat_nat_clean", "cifar10-cpu"), ("tab2a_order", "cifar10-cpu"),
                ("energy_subsets", "cifar10-cpu"), ("low_energy_less", "cifar10-cpu")]:
        if key not in expected: assert led[key] == "not measured yet", f"{key}: a verdict without its per-seed CSV"
    assert expected
    for key, v in expected.items(): assert led[key] == v, f"{key}: ledger {led[key]!r}, independent Welch {v!r}"
