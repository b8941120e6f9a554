"""User-facing text speaks of the project and its user: no words about how the project was developed (issues, sessions,
helpers, a lent or borrowed GPU machine, work items) and no paths a user does not have (`../shared`, `/work/`), in
README.md, BENCHMARKS.md, every README under data/ and figures/, and the markdown of every notebook."""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORDING = {                                   # pattern: why it does not belong in front of a user
    r"\.\./shared": "a folder beside the checkout that users do not have",
    r"/work/": "a path on the machine the project was developed on",
    r"\bissues?\b": "the development process (issues)",
    r"\bsessions?\b": "the development process (sessions)",
    r"\b(other|the|a|each|every|another) helpers?\b(?! (of|for|that|functions?)\b)|\bhelpers'|\bhelper's\b": "the development process (helpers)",
    r"\b(lent|lend|lends|lending|borrowed|borrows?)\b": "how a machine was lent or borrowed",
    r"\bwork items?\b": "the development process (work items)",
    r"\bdevice (tool|time)\b": "the development process (the device tool)",
    r"\bcarried to\b|\bwhat travels\b": "what was carried to a borrowed machine",
    r"\breference_code_facts\b": "a notes file users cannot open (cite the authors' code)",
}


def user_texts():
    "(name, text) of every user-facing text: the READMEs, BENCHMARKS.md and each notebook's markdown cells."
    files = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "data").glob("**/README.md")),
             *sorted((ROOT / "figures").glob("**/README.md"))]
    out = [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in files if p.is_file()]
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        out += [(f"nbs/{nb.name} (markdown cell {c.get('id', i)})", "".join(c["source"]))
                for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    return out


def findings(texts):
    "Each (where, line, why) a pattern of WORDING matches."
    return [(name, line.strip()[:160], why) for name, text in texts for line in text.splitlines()
            for pat, why in WORDING.items() if re.search(pat, line, flags=re.I)]


def test_the_check_finds_what_it_looks_for():
    planted = [("x.md", "The issue that specified this notebook, as a lent GPU showed (../shared/data)."), ("y.md", "energy"),
               ("z.md", "Three small helpers of `launch`; a grid helper for every figure")]
    assert {why for _, _, why in findings(planted)} == {WORDING[r"\bissues?\b"], WORDING[r"\.\./shared"],
                                                         WORDING[r"\b(lent|lend|lends|lending|borrowed|borrows?)\b"]}
    assert findings([("w.md", "other helpers' jobs ran throughout")]), "the development-process sense is still found"


def test_user_facing_text_speaks_of_the_project_and_its_user():
    texts = user_texts()
    names = {n.split(" (")[0] for n, _ in texts}
    assert {"README.md", "BENCHMARKS.md", "data/README.md", "nbs/index.ipynb", "nbs/fig3_phases.ipynb"} <= names
    assert any(n.startswith("figures/") for n in names) and sum(len(t) for _, t in texts) > 100_000
    assert findings(texts) == []
