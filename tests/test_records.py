"""The committed results and their records (`weat_paper.outputs`).

Every committed figure and table under figures/<scale>/ has a JSON record beside it whose command names its notebook,
its scale and every non-default parameter, and remakes exactly the recorded files; each folder's README lists them;
the digits tables that `nbdev_test` just wrote equal the committed ones within tolerance; and a run the records do not
ask for (another run directory, from another folder) leaves the tracked tree alone."""
import ast, hashlib, json, os, shlex, shutil, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
import yaml

from weat_paper.config import PROTOCOLS
from weat_paper.outputs import (LOCAL, RECORDS_END, RECORDS_START, notebook_parameters, read_record, records_markdown,
                                result_record, results_scale, same_table)

ROOT = Path(__file__).resolve().parents[1]
SCALES = sorted(p for p in (ROOT / "figures").iterdir() if p.is_dir() and p.name != "docs")
RESULTS = sorted(p for d in SCALES for p in d.iterdir() if p.suffix in (".csv", ".png", ".md") and p.name != "README.md")
RECORDS = sorted(p for d in SCALES for p in d.glob("*.json"))
PAPERMILL = str(Path(sys.executable).parent / "papermill")
# the ledger's per-seed tables, made from the committed per-run records by `write_ledger` (no notebook run makes them)
LEDGER_COMMAND = 'python -c "from weat_paper.claims import write_ledger; write_ledger()"'


def saved_names(nb):
    "The result names notebook `nb` passes to save_figure / save_table."
    out = set()
    for c in json.loads((ROOT / "nbs" / f"{nb}.ipynb").read_text())["cells"]:
        if c["cell_type"] != "code": continue
        try: tree = ast.parse("".join(c["source"]))
        except SyntaxError: continue
        out |= {n.args[1].value for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) in
                ("save_figure", "save_table") and len(n.args) > 1 and isinstance(n.args[1], ast.Constant)}
    return out


def command_settings(cmd):
    "(notebook, {name: value}) of a papermill command, the values read as papermill reads them (-p: a number when it is one; -y: YAML)."
    w = shlex.split(cmd)
    assert w[:1] == ["papermill"] and w[1].startswith("nbs/") and w[2] == "out.ipynb" and "--log-output" in w, cmd
    out, i = {}, 3
    while i < len(w):
        if w[i] == "-p": out[w[i + 1]] = yaml.safe_load(w[i + 2]); i += 3
        elif w[i] == "-y": out.update(yaml.safe_load(w[i + 1])); i += 2
        else: i += 1
    return Path(w[1]).stem, out


def test_the_results_are_there():
    "Guards against a vacuous pass: both committed scales, with their results and records, are found."
    assert {d.name for d in SCALES} >= {"digits", "cifar10-cpu"}
    assert len(RESULTS) >= 90 and len(RECORDS) >= 45, (len(RESULTS), len(RECORDS))


@pytest.mark.parametrize("path", RESULTS, ids=[str(p.relative_to(ROOT / "figures")) for p in RESULTS])
def test_every_result_has_its_record(path):
    "Each committed file is listed in exactly one record of its folder, with the keys the records document."
    owners = [r for r in RECORDS if r.parent == path.parent and path.name in (read_record(r) or {}).get("files", [])]
    assert len(owners) == 1, f"{path.relative_to(ROOT)} is listed in {len(owners)} records (want 1)"
    rec = read_record(owners[0])
    assert list(rec) == ["notebook", "scale", "parameters", "command", "files", "protocol_fingerprint"], list(rec)
    assert owners[0].name[:-len(".json")] == path.name[:-len(path.suffix)], "a record is named after its result's stem"


@pytest.mark.parametrize("path", RECORDS, ids=[str(p.relative_to(ROOT / "figures")) for p in RECORDS])
def test_record_command_remakes_its_files(path):
    "The command names the notebook, the scale and every non-default parameter, and those parameters name exactly the files."
    rec = read_record(path)
    if rec["command"] == LEDGER_COMMAND:
        assert rec["notebook"] == "claims" and rec["parameters"] == {}, rec
        from weat_paper import claims, verdicts          # the ledger, and the grid's tables it rebuilds first
        code = Path(claims.__file__).read_text() + Path(verdicts.__file__).read_text()
        assert all(f"\"{f}\"" in code for f in rec["files"]), "write_ledger no longer writes these files"
        fps = set(pd.read_csv(path.parent / rec["files"][0]).protocol_fingerprint)
        assert fps == {rec["protocol_fingerprint"]}, (fps, rec["protocol_fingerprint"])
        return
    nb, given = command_settings(rec["command"])
    assert nb == rec["notebook"] and rec["scale"] == path.parent.name
    known = notebook_parameters(nb)
    defaults = {k: v[1] for k, v in known.items()}
    assert given == rec["parameters"], (given, rec["parameters"])           # every recorded parameter, as recorded
    for k, v in given.items():
        assert k in known, f"{k} is not a parameter of {nb}"
        assert v != defaults[k], f"{k} is at its default ({v!r}): the record holds only what differs"
    protocol = given.get("protocol", defaults.get("protocol", "quick"))
    if rec["scale"] in PROTOCOLS: assert protocol == rec["scale"]           # a protocol scale: -p protocol <scale>
    else: assert protocol in (None, "quick") and results_scale(given.get("dataset", defaults.get("dataset"))) == rec["scale"]
    for f in rec["files"]: assert (path.parent / f).is_file(), f"{f} is recorded but missing"
    stems = {result_record(name, nb, {**defaults, **given})[:2] for name in saved_names(nb)}
    assert (rec["scale"], path.name[:-len(".json")]) in stems, f"{nb} with these parameters writes {stems}, not {path.name}"
    fp = rec["protocol_fingerprint"]       # the protocol as it was when the result was made (today's may differ: a stale result)
    assert fp is None if protocol in (None, "quick") else isinstance(fp, str) and len(fp) == 10 and int(fp, 16) >= 0, fp


@pytest.mark.parametrize("folder", SCALES, ids=[d.name for d in SCALES])
def test_readme_lists_the_records(folder):
    "figures/<scale>/README.md holds the generated list, as the records make it today."
    text = (folder / "README.md").read_text()
    assert text.count(RECORDS_START) == 1 and text.count(RECORDS_END) == 1
    block = text[text.index(RECORDS_START):text.index(RECORDS_END)]
    listed = records_markdown(folder)
    assert listed and listed in block, "the README's list is stale: run weat_paper.outputs.write_records_readme on the folder"
    assert len(block.splitlines()) == 2 + len(listed.splitlines())


TESTED = ROOT / LOCAL / "nbdev_test" / "digits"


@pytest.mark.skipif(not TESTED.is_dir(), reason="nbdev_test has not run here (it writes local-figures/nbdev_test/)")
def test_digits_results_are_current():
    "Every digits table nbdev_test just wrote equals the committed one within save_figure's tolerance (a stale result fails)."
    written = sorted(TESTED.glob("*.csv"))
    assert written, f"nothing in {TESTED}"
    stale = []
    for p in written:
        committed = ROOT / "figures" / "digits" / p.name
        assert committed.is_file(), f"nbdev_test wrote {p.name}, which is not committed in figures/digits/"
        if not same_table(pd.read_csv(p), pd.read_csv(committed)): stale.append(p.name)
        assert read_record(p.with_suffix(".json")) == read_record(committed.with_suffix(".json")), f"{p.name}: records differ"
    assert not stale, f"committed digits results differ from what the code makes now: {stale} (remake them with their commands)"


def _digest(folder):
    return {p.relative_to(folder): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fig3_record():
    return read_record(ROOT / "figures" / "digits" / "fig3_phases.json")


def _papermill(cmd, out, cwd, env=None):
    "Run a record's command with papermill, its output notebook at `out`, from `cwd`; the completed process."
    words = [out if w == "out.ipynb" else str(ROOT / w) if w.startswith("nbs/") else w for w in shlex.split(cmd)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    env.pop("IN_TEST", None)
    return subprocess.run([PAPERMILL, *words[1:]], cwd=cwd, capture_output=True, text=True, env=env)


def test_digits_command_writes_exactly_its_files(tmp_path, fig3_record):
    "The README's main figure: running its record's command writes exactly the recorded files and the record (into $WEAT_FIGURES)."
    figs = tmp_path / "figures"
    out = _papermill(fig3_record["command"], str(tmp_path / "out.ipynb"), ROOT, {"WEAT_FIGURES": str(figs)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(str(p.relative_to(figs)) for p in figs.rglob("*") if p.is_file()) == \
        sorted(f"digits/{f}" for f in [*fig3_record["files"], "fig3_phases.json"])
    assert read_record(figs / "digits" / "fig3_phases.json") == fig3_record


def test_run_dir_elsewhere_leaves_figures_alone(tmp_path):
    """`-p run_dir <a run>` from another folder: the committed figure and README are untouched, the figure goes to the
    git-ignored local-figures/ (captioned with the run) and says so, nothing lands in the working folder, and the
    notebook runs to its end."""
    from weat_paper.train import train
    run = train("trades", out_dir=tmp_path / "runs" / "mine", epochs=2, steps=1, n_per_class=10, batch_size=32, track_n=16,
                progress=False, root=ROOT / "data", device="cpu")
    before = _digest(ROOT / "figures")
    work = tmp_path / "elsewhere"; work.mkdir()
    out = _papermill(f"papermill nbs/fig3_phases.ipynb out.ipynb --log-output -p run_dir {run}", "o.ipynb", work)
    assert out.returncode == 0, out.stderr[-3000:]
    assert _digest(ROOT / "figures") == before, "a run the records do not ask for changed figures/"
    assert sorted(p.name for p in work.iterdir()) == ["o.ipynb"], "the notebook wrote into the working folder"
    local = ROOT / LOCAL / "digits" / "fig3_phases.json"
    assert read_record(local)["parameters"] == {"run_dir": str(run)}
    log = json.loads((work / "o.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in log["cells"] for o in c.get("outputs", []))
    assert f"saved {LOCAL}/digits/fig3_phases" in text and "git-ignored" in text, text[-2000:]
