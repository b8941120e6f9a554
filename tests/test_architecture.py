"The package's shape: imports point only down the notebook numbering, and no module is over 400 lines."
import ast, re
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1] / "weat_paper"
MAX_LINES = 400


def _modules():
    "{dotted module name: path} for every generated module of the package (not nbdev's index `_modidx`)."
    return {".".join(p.relative_to(PKG.parent).with_suffix("").parts): p for p in sorted(PKG.rglob("*.py"))
            if p.name not in ("__init__.py", "_modidx.py")}


def notebook_of(path):
    "The notebook stem that exports a module, from its `# %% ../nbs/NN_x.ipynb` cell headers; None for a hand-written one."
    m = re.search(r"^# %% (?:\.\./)+nbs/([^ ]+)\.ipynb", Path(path).read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else None


def order(stem):
    "Sort key of a notebook stem: 03 < 03a < 03b < 04; an unnumbered notebook (the claims ledger) comes after every numbered one."
    m = re.match(r"(\d+)([a-z]*)_", stem)
    return (int(m.group(1)), m.group(2)) if m else (10**9, stem)


def imported(path, name):
    "Dotted names of the weat_paper modules that module `name` imports anywhere in its file (functions included)."
    pkg, out = name.rsplit(".", 1)[0], set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import): out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:                                             # relative: resolve against the module's package
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}            # `from weat_paper import claims` imports a module too
    return {m for m in out if m.startswith("weat_paper.")}


def upward_imports(modules):
    "(importer, its notebook, imported, its notebook) for each import of a module exported by a later notebook."
    nb = {m: notebook_of(p) for m, p in modules.items()}
    return [(m, nb[m], t, nb[t]) for m, p in modules.items() if nb[m] for t in sorted(imported(p, m))
            if t in nb and t != m and nb[t] and order(nb[t]) > order(nb[m])]


def test_order_and_resolution():
    assert order("03_data") < order("03a_loader") < order("03b_validation") < order("04_models") < order("claims")
    assert order("17a_parameters") < order("18_results")
    src = "from .config import x\nfrom ..utils import y\ndef f():\n    from weat_paper.zoo import z\n    import weat_paper.claims\n"
    p = PKG.parent / "tests" / "_imports_probe.py"
    try:
        p.write_text(src)
        assert imported(p, "weat_paper.bench.step") >= {"weat_paper.bench.config", "weat_paper.utils", "weat_paper.zoo", "weat_paper.claims"}
        assert "weat_paper.config" in imported(p, "weat_paper.outputs")
    finally: p.unlink()


def test_no_upward_import():
    "A module imports only modules of its own or an earlier notebook, so each notebook can be read knowing only those before it."
    modules = _modules()
    assert {"weat_paper.utils", "weat_paper.outputs", "weat_paper.config", "weat_paper.bench.step"} <= modules.keys()
    bad = upward_imports(modules)
    assert not bad, "imports pointing up the notebook numbering: " + "; ".join(f"{a} ({na}) imports {b} ({nb})" for a, na, b, nb in bad)


@pytest.mark.parametrize("name,path", sorted(_modules().items()))
def test_module_size(name, path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines (at most {MAX_LINES}): split it along a concept line into its own notebook"
