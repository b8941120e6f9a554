"""Nothing a user did not create is unpickled: every torch.load in the package is weights_only=True, except the
one RobustBench path that a user must switch on (allow_unpickle=True), which warns."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "weat_paper"

def torch_loads():
    "(file, line, weights_only value as source, innermost enclosing function) of every torch.load call in the package."
    out = []
    for f in sorted(PKG.glob("*.py")):
        def visit(node, fn):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)): fn = node.name
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                out.append((f.name, node.lineno, kw.get("weights_only"), fn))
            for child in ast.iter_child_nodes(node): visit(child, fn)
        visit(ast.parse(f.read_text()), "<module>")
    return out

def test_every_torch_load_is_weights_only():
    loads = torch_loads()
    assert loads, "expected torch.load calls in the package (checkpoints are loaded somewhere)"
    unsafe = [l for l in loads if l[2] != "True"]
    # the only exception: the zoo's explicit opt-in for a user-named RobustBench file
    assert all(l[0] == "zoo.py" and l[3] == "_read_weights" and l[2] == "False" for l in unsafe), unsafe
    assert len(unsafe) <= 1

def test_unsafe_path_is_guarded():
    src = (PKG / "zoo.py").read_text()
    fn = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.FunctionDef) and n.name == "_read_weights")
    body = ast.unparse(fn)
    assert "if not allow_unpickle" in body and "warnings.warn" in body

def test_no_pickle_module_use():
    for f in PKG.glob("*.py"):
        tree = ast.parse(f.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not ({"pickle", "dill", "cloudpickle"} & (names | mods)), f.name
