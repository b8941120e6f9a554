"""Every paper-scale command the project prints (notebooks, README.md, BENCHMARKS.md) runs the paper's protocol.

A command is paper-scale when it asks for the paper's protocol, a GPU, or one of the paper's datasets. Such a command
- trains with `--protocol paper` / `-p protocol paper` and sets nothing the preset already sets (only the dataset, and
  the bf16 fast path `amp`, whose difference `protocol_diff` states, may be given);
- never holds out training images (`val_frac`), never reads the JPEG copy of CIFAR-10 (generation metrics and PCA
  fits use torchvision's lossless `cifar10`), never uses the literal Eq. 7 SGLD noise (`noise eq7`);
- for the generation tables (Tab. 2b/2c) uses σ_PCA = 0.005, the authors' code default.
The notebooks print their commands either as text or through `weat_paper.outputs.paper_command` (evaluated here)."""
import ast, json, re, shlex, warnings
from pathlib import Path
import pytest

from weat_paper.config import PROTOCOLS
from weat_paper.outputs import notebook_parameters, paper_command
import weat_paper.evaluate as ev

ROOT = Path(__file__).resolve().parents[1]
CMD = re.compile(r"(?:papermill|weat-train|weat-sweep)\s[^`\n]*")
PAPER_DATASETS = ("cifar10", "cifar100", "svhn", "tinyimagenet")
# what the paper preset sets, given or derived (epochs, alpha, beta, burn-in follow the dataset and method)
PRESET = (set(PROTOCOLS["paper"]) | {"epochs", "alpha", "beta", "burn_in", "val_frac"}) - {"dataset", "amp"}
TRAINS = {"arch", "epochs", "steps", "train_kw", "method", "methods"}      # a notebook with these parameters trains


def _strings(code):
    "String constants of a code cell (implicit concatenation joined; f-string holes as {})."
    try: tree = ast.parse("\n".join(l for l in code.split("\n") if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError: return [code], None
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str): out.append(n.value)
        elif isinstance(n, ast.JoinedStr): out.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in n.values))
    return out, tree


def _paper_command_calls(tree, where):
    """The commands of the cell's `paper_command(...)` calls, evaluated with every name it cannot resolve as 'X'.
    A call that cannot be evaluated so is an error, not a skipped command: each printed command is checked."""
    ns = {"paper_command": paper_command, "AA_STANDARD": ev.AA_STANDARD, "list": list, "tuple": tuple, "dict": dict, "range": range}
    class Fill(ast.NodeTransformer):
        def visit_Name(self, n): return n if n.id in ns else ast.copy_location(ast.Constant("X"), n)
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "paper_command":
            expr = ast.fix_missing_locations(ast.Expression(Fill().visit(n)))
            with warnings.catch_warnings():     # a name filled in as 'X' and then called: compile warns, eval fails below
                warnings.simplefilter("ignore", SyntaxWarning)
                try: out.append(eval(compile(expr, "<paper_command>", "eval"), ns))
                except Exception as e: raise AssertionError(f"{where}: cannot evaluate {ast.unparse(n)}: {e}") from None
    return out


def collect():
    "(where, command) for every command printed by a notebook or written in README.md / BENCHMARKS.md."
    found = []
    for name in ("README.md", "BENCHMARKS.md"):
        for m in CMD.findall((ROOT / name).read_text()):     # BENCHMARKS.md: its timing runs are not paper runs; its training command is
            if name == "README.md" or "protocol" in m: found.append((name, m))
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            s = "".join(c["source"])
            if c["cell_type"] == "markdown": texts, tree = [s], None
            else: texts, tree = _strings(s)
            found += [(nb.stem, m) for t in texts for m in CMD.findall(t)]
            if tree is not None and not nb.stem[0].isdigit():        # the library notebooks' calls are their tests
                found += [(nb.stem, cmd) for cmd in _paper_command_calls(tree, nb.stem)]
    return found


def settings(cmd):
    "{name: value} of a command's -p/--name options (papermill -y 'name: value' too), the notebook, the program."
    try: words = shlex.split(cmd.replace("{}", "X"))
    except ValueError: words = cmd.split()
    out, nb = {}, None
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "-p" and i + 2 < len(words): out[words[i + 1]] = words[i + 2]
        elif w == "-y": out.update({k.strip(" {\"'"): v for k, _, v in [nxt.partition(":")]})
        elif w == "--set":                                   # weat-sweep --set name=value ...
            for kv in words[i + 1:]:
                if "=" not in kv or kv.startswith("-"): break
                out[kv.split("=", 1)[0]] = kv.split("=", 1)[1]
        elif w.startswith("--") and len(w) > 2:
            out[w[2:].replace("-", "_")] = nxt if nxt and not nxt.startswith("-") else True
        elif w.endswith(".ipynb") and w.startswith("nbs/"): nb = Path(w).stem
    return out, nb, words[0] if words else ""


def is_paper_scale(cmd, s):
    return ("protocol" in s and s["protocol"] == "paper") or "cuda" in cmd or s.get("dataset") in PAPER_DATASETS


COMMANDS = [(w, c) for w, c in collect() if is_paper_scale(c, settings(c)[0])]


def test_commands_were_found():
    "The collection finds the printed commands (a regression guard for the collector itself)."
    assert len(COMMANDS) >= 10, COMMANDS
    assert any(w == "BENCHMARKS.md" for w, _ in COMMANDS) and any(w.startswith("table2") for w, _ in COMMANDS)


def test_printed_commands_stream_their_log():
    "Every command a notebook prints through `paper_command` runs papermill with --log-output (the epoch bars reach the terminal)."
    printed = []
    for nb in sorted((ROOT / "nbs").glob("[ft]*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            tree = _strings("".join(c["source"]))[1] if c["cell_type"] == "code" else None
            if tree is not None: printed += _paper_command_calls(tree, nb.stem)
    assert len(printed) >= 15, printed
    assert all(" out.ipynb --log-output" in c for c in printed), [c for c in printed if "--log-output" not in c]


def test_settings_parser():
    s, nb, prog = settings("papermill nbs/fig3_phases.ipynb out.ipynb -p protocol paper -p method sat -y 'seeds: [0, 1]'")
    assert (s, nb, prog) == ({"protocol": "paper", "method": "sat", "seeds": " [0, 1]"}, "fig3_phases", "papermill")
    assert settings("weat-train sat --protocol paper --dataset svhn --amp")[0] == {"protocol": "paper", "dataset": "svhn", "amp": True}
    assert is_paper_scale("weat-train sat --protocol paper", {"protocol": "paper"})
    assert not is_paper_scale("papermill nbs/fig3_phases.ipynb out.ipynb -p method trades", {"method": "trades"})


def problems(where, cmd):
    "(what is wrong with the data and generation settings, what is wrong with the protocol) of a paper-scale command."
    s, nb, prog = settings(cmd)
    data = []
    if "val_frac" in cmd: data.append("holds out training images (val_frac)")
    if "cifar10-jpg" in cmd or str(s.get("dataset", "")).startswith("folder:"): data.append("reads the JPEG copy of CIFAR-10")
    if s.get("noise") == "eq7": data.append("uses the literal Eq. 7 noise, not the authors' (Tab. 2b/2c, Fig. 6)")
    dataset = s.get("dataset", "cifar10" if s.get("protocol") == "paper" else None)      # the paper protocol's data set: cifar10
    if nb in ("table2b_generation", "table2c_generation") and (dataset != "cifar10" or s.get("sigma") != "0.005"):
        data.append("the generation tables need -p dataset cifar10 -p sigma 0.005")
    proto = []
    params = notebook_parameters(nb) if nb and (ROOT / "nbs" / f"{nb}.ipynb").is_file() else {}   # a test's made-up notebook: none
    zoo = "model" in s or "models" in s              # a notebook that reads a RobustBench model instead of training one
    if prog in ("weat-train", "weat-sweep") or TRAINS & set(params) and not zoo:
        if s.get("protocol") != "paper": proto.append("trains without the paper protocol")
        if PRESET & set(s): proto.append(f"sets {sorted(PRESET & set(s))}, which the paper protocol sets")
    return data, proto


@pytest.mark.parametrize("where,cmd", COMMANDS, ids=[f"{w}:{c[:60]}" for w, c in COMMANDS])
def test_paper_scale_command_runs_the_protocol(where, cmd):
    data, proto = problems(where, cmd)
    assert not data, f"{where}: {'; '.join(data)}: {cmd}"
    assert not proto, f"{where}: {'; '.join(proto)}: {cmd}"
