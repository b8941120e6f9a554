"""README.md (nbs/index.ipynb) tells the truth about the code: the architecture paragraph names notebooks that exist and
module relations that the imports hold, the "Use" snippet imports only what it uses, the commands and the citation are there."""
import ast, json, re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title):
    "The text of README's `## <title>` section."
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.M | re.S)
    assert m, f"README has no section '## {title}'"
    return m.group(1)


def default_exp(stem):
    "The module a notebook exports (its `#| default_exp`), None when it exports none."
    for c in json.loads((ROOT / "nbs" / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]:
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(c["source"]), flags=re.M)
        if c["cell_type"] == "code" and m: return m.group(1)
    return None


def imports(module):
    "The package modules that weat_paper.<module> imports (relative or absolute), as dotted names below weat_paper."
    path = ROOT / "weat_paper" / (module.replace(".", "/") + ".py")
    pkg = module.split(".")[:-1]
    out = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.ImportFrom) and n.level:
            base = pkg[:len(pkg) - (n.level - 1)] if n.level > 1 else pkg
            out.add(".".join(base + ([n.module] if n.module else [])))
        elif isinstance(n, ast.ImportFrom) and (n.module or "").startswith("weat_paper."): out.add(n.module[len("weat_paper."):])
        elif isinstance(n, ast.Import):
            out |= {a.name[len("weat_paper."):] for a in n.names if a.name.startswith("weat_paper.")}
    return out


CLAUSE = re.compile(r"`(\w+)` \(`([\w.]+)`(?:[^()]*?, uses ((?:`[\w.]+`(?:, )?)+))?[^()]*\)")


def architecture():
    "{notebook: (module, [modules it says the module uses])} from the paragraph under '## How the code is organised'."
    text = " ".join(section("How the code is organised").split())
    return {nb: (mod, re.findall(r"`([\w.]+)`", uses or "")) for nb, mod, uses in CLAUSE.findall(text)}, text


def test_architecture_paragraph_matches_the_code():
    arch, text = architecture()
    assert len(arch) >= 20, arch
    for nb, (mod, uses) in arch.items():
        assert (ROOT / "nbs" / f"{nb}.ipynb").is_file(), f"the paragraph names nbs/{nb}.ipynb, which does not exist"
        assert default_exp(nb) == mod, f"{nb} exports {default_exp(nb)}, the paragraph says {mod}"
        missing = set(uses) - imports(mod)
        assert not missing, f"weat_paper.{mod} does not import {sorted(missing)}, as the paragraph says"
    assert imports("energy") == set() and "`02_energy` (`energy`" in text and "imports nothing of the package" in text
    named = set(re.findall(r"`(\d\d[a-z]?_\w+|claims)`", text))          # every notebook named, with or without a module
    assert all((ROOT / "nbs" / f"{nb}.ipynb").is_file() for nb in named), named
    exporting = {p.stem for p in (ROOT / "nbs").glob("*.ipynb") if default_exp(p.stem)}
    assert exporting <= set(arch), f"notebooks that export a module but are not in the paragraph: {sorted(exporting - set(arch))}"


def test_the_check_reads_clauses_and_imports():
    "The clause parser and the import reader on known input: a wrong relation would be caught."
    text = "`12_train` (`train`, uses `attacks`, `losses`) is the loop; `02_energy` (`energy`: maths) imports nothing."
    assert CLAUSE.findall(text) == [("12_train", "train", "`attacks`, `losses`"), ("02_energy", "energy", "")]
    assert {"attacks", "losses", "utils"} <= imports("train") and "train" not in imports("attacks")
    assert {"step", "loop", "evaluate"} <= {m.split(".")[-1] for m in imports("bench.gpu")}


def test_use_snippet_imports_only_what_it_uses():
    code = re.search(r"```python\n(.*?)```", section("Use"), flags=re.S).group(1)
    tree = ast.parse(code)
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert imported and imported <= used, f"imported but not used: {imported - used}"


def test_readme_links_the_paper_the_code_the_ledger_and_every_command():
    assert "https://arxiv.org/abs/2407.06315" in README
    assert "https://github.com/OmnAI-Lab/Robust-Classifiers-under-the-lens-of-EBM" in README
    assert "](figures/claims.md)" in README and (ROOT / "figures" / "claims.md").is_file()
    bib = re.search(r"```bibtex\n(.*?)```", section("Citation"), flags=re.S).group(1)
    assert bib.startswith("@inproceedings{") and "Mirza" in bib and "2024" in bib and bib.count("{") == bib.count("}")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["preferred-citation"]["year"] == 2024
    assert [a["family-names"] for a in cff["preferred-citation"]["authors"]] == ["Mirza", "Briglia", "Beadini", "Masi"]
    scripts = re.search(r"^console_scripts\s*=\s*(.+)$", (ROOT / "settings.ini").read_text(), flags=re.M).group(1).split()
    commands = [s.split("=")[0] for s in scripts]
    assert {"weat-train", "weat-bench", "weat-sweep"} <= set(commands)
    assert all(f"`{c}`" in section("Packaging") for c in commands), commands
    assert "--log-output" in section("Set up")
