"""README.md is nbs/index.ipynb's markdown (the docs home page): write it, or with --check fail if it is stale.

nbdev_readme needs the Quarto binary, which these machines cannot install, so this does its job for a
notebook that is prose only."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb=ROOT / "nbs" / "index.ipynb"):
    cells = json.loads(Path(nb).read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]).strip() for c in cells if c["cell_type"] == "markdown") + "\n"

if __name__ == "__main__":
    text, readme = render(), ROOT / "README.md"
    if "--check" in sys.argv:
        sys.exit(0 if readme.read_text(encoding="utf-8") == text else "README.md is stale: run python tools/sync_readme.py")
    readme.write_text(text, encoding="utf-8")
