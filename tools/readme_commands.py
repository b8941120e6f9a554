"""Print one of README.md's two set-up commands ('main' or 'test'): CI runs exactly what a newcomer pastes."""
import re, sys
from pathlib import Path

def readme_commands(readme=Path(__file__).resolve().parents[1] / "README.md"):
    text = Path(readme).read_text(encoding="utf-8")
    found = dict(re.findall(r"<!-- (main|test)-command -->\s*```(?:bash|sh)?\n(.+?)\n```", text, flags=re.S))
    return {k: " ".join(l.rstrip("\\").strip() for l in v.splitlines()) for k, v in found.items()}

if __name__ == "__main__":
    print(readme_commands()[sys.argv[1]])
