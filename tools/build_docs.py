"""Build the documentation site offline, in pure Python: `python tools/build_docs.py` writes `_docs/`.

Steps: `nbdev_proc_nbs` (nbdev's own notebook processing: `show_doc`, directives, front matter) writes `_proc/`;
that is staged with a sidebar in the paper's order and the figure gallery on the home page, then rendered by
`smalldocs` (which reads Quarto's `_quarto.yml`); KaTeX, taken once from the npm registry (`npm pack katex`, cached
in `.cache/`), is copied into the site so the equations typeset with no network. `--serve PORT` serves the result on
127.0.0.1. Where Quarto is installed, `nbdev_docs` builds the same notebooks with nbdev's own sidebar."""
import argparse, functools, html, http.server, json, os, re, shutil, subprocess, sys, tarfile, tempfile, threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
KATEX_VERSION = "0.16.22"          # the KaTeX release copied into the site (npm registry)
CDN_KATEX = re.compile(r"https://cdn\.jsdelivr\.net/npm/katex@[^/\"']+/dist")

# The sidebar follows the paper: library notebooks by their number, then the reproduce-a-figure/table pages.
SECTIONS = [("Foundations", 0, 1), ("Energy", 2, 2), ("Data and models", 3, 4), ("Attacks", 5, 6), ("Losses and training", 7, 12),
            ("Evaluation", 13, 13), ("Generation", 14, 15), ("Analyses", 16, 17), ("Tools", 18, 99)]


class DocsError(Exception):
    "A build step that cannot go on; the message is one line for the user."


def _natural(s):
    "Sort key that puts fig2 before fig10 and fig5a before fig5b, and numbered figures before lettered (appendix) ones."
    m = re.match(r"(fig|table)(\d*)([A-Za-z]*)", s)
    num, letters = (m.group(2), m.group(3)) if m else ("", s)
    return (0, int(num), letters.lower(), s) if num else (1, 0, letters.lower(), s)


def sidebar(stems):
    "Quarto sidebar `contents` for notebook stems (names without .ipynb): home, sections in the paper's order, figures, tables."
    numbered = {s: int(m.group(1)) for s in stems if (m := re.match(r"(\d+)[a-zA-Z0-9]*_", s))}   # 06_footprint is 6
    figs = sorted((s for s in stems if s.startswith("fig")), key=_natural)
    tabs = sorted((s for s in stems if s.startswith("table")), key=_natural)
    rest = sorted(s for s in stems if s not in numbered and s not in figs and s not in tabs and s != "index")
    out = ["index"] if "index" in stems else []
    for title, lo, hi in SECTIONS:
        pages = sorted((s for s, n in numbered.items() if lo <= n <= hi), key=lambda s: (numbered[s], s))
        if len(pages) == 1: out += pages                  # a one-page section is that page
        elif pages: out.append({"section": title, "contents": pages})
    for title, pages in (("Reproduce the figures", figs), ("Reproduce the tables", tabs), ("More", rest)):
        if pages: out.append({"section": title, "contents": pages})
    return out


def _code_cells(nb_path):
    "The code cells of a notebook (none if there is no such file)."
    p = Path(nb_path)
    return [c for c in json.loads(p.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"] if p.exists() else []


@functools.lru_cache(maxsize=None)
def parameters(nb_path):
    "The names set in a notebook's papermill `parameters` cell (empty when it has none)."
    nb = {"cells": _code_cells(nb_path)}
    for c in nb["cells"]:
        if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", []):
            return tuple(re.findall(r"^([A-Za-z_]\w*)\s*=", "".join(c["source"]), flags=re.M))
    return ()


@functools.lru_cache(maxsize=None)
def figure_names(nb_path):
    "The figure names a notebook passes to save_figure as a plain string (`save_figure(fig, \"fig6_top\", ...)`)."
    code = "\n".join("".join(c["source"]) for c in _code_cells(nb_path))
    return tuple(re.findall(r"save_figure\(\s*[^,()]+(?:\([^()]*\))?\s*,\s*[\"']([\w-]+)[\"']", code))


def _tags(rest, params):
    "Split save_figure's `k1-v1_k2-v2` tail into (key, value) pairs; keys may hold underscores when they are parameters."
    def key_at(t):
        k = max((p for p in params if t.startswith(p + "-")), key=len, default=None)
        return k or (m.group(1) if (m := re.match(r"([A-Za-z][A-Za-z0-9]*)-", t)) else None)
    out = []
    while rest and (key := key_at(rest)):
        rest = rest[len(key) + 1:]
        cut = next((j for j, ch in enumerate(rest) if ch == "_" and key_at(rest[j + 1:])), len(rest))
        out.append((key, rest[:cut]))
        rest = rest[cut + 1:]
    return out


def figure_source(png_stem, notebooks):
    """The notebook that writes figures/<png_stem>.png and the papermill command for it; None when no notebook matches.

    save_figure names a file `<name>_<k>-<v>...`: the notebook is the one that passes `<name>` to save_figure (else the
    one whose file name starts the figure's), and each tag that is one of its papermill parameters becomes `-p k v`."""
    names = {}
    for nb in notebooks:
        for n in figure_names(ROOT / "nbs" / f"{nb}.ipynb"): names.setdefault(n, nb)
    for nb in notebooks: names.setdefault(nb, nb)
    owners = [n for n in names if png_stem == n or png_stem.startswith(n + "_")]
    if not owners: return None
    name = max(owners, key=len)
    nb = names[name]
    params = parameters(ROOT / "nbs" / f"{nb}.ipynb")
    args = [a for k, v in _tags(png_stem[len(name) + 1:], params) if k in params for a in ("-p", k, v)]
    return nb, " ".join(["papermill", f"nbs/{nb}.ipynb", "out.ipynb", *args])


def figure_command(png_stem, notebooks):
    "The papermill command that writes figures/<png_stem>.png (see figure_source); None when no notebook matches."
    src = figure_source(png_stem, notebooks)
    return src[1] if src else None


def _figure_md(p, cmd, level="###"):
    how = f"```bash\n{cmd}\n```" if cmd else "Written by a notebook in `nbs/`."
    return f"{level} {p.stem}\n\n![{p.stem}](figures/{_rel(p)}){{.img-fluid}}\n\n{how}"


def _table_md(p, cmd, level="####"):
    "A saved table (figures/<stem>.md, written by `weat_paper.results.save_table`) as it goes on its notebook's page."
    how = f"```bash\n{cmd}\n```" if cmd else "Written by a notebook in `nbs/`."
    return f"{level} {p.stem}\n\n{p.read_text(encoding='utf-8').strip()}\n\n{how}"


def _ordered(files):
    "Figure files in the paper's order: figures, appendix figures, tables, the rest."
    kind = lambda stem: 0 if stem.startswith("fig") else 1 if stem.startswith("table") else 2
    return sorted(files, key=lambda p: (kind(p.stem), _natural(p.stem)))


def _rel(p):
    "A saved file's path below figures/ (figures/<scale>/<name>, or figures/<name> in the old flat layout)."
    parts = Path(p).parts
    return "/".join(parts[len(parts) - 1 - parts[::-1].index("figures") + 1:]) if "figures" in parts else Path(p).name


def _saved(figures, pattern):
    "figures/**/<pattern>, every scale's folder, not the browser test's screenshots (figures/docs/)."
    return [p for p in Path(figures).rglob(pattern) if p.relative_to(figures).parts[0] != "docs"]


def _pngs(figures):
    "figures/**/*.png in the paper's order: figures, appendix figures, tables, the rest."
    return _ordered(_saved(figures, "*.png"))


def _thumb(p, cmd):
    "One gallery cell: the thumbnail (a link to the full figure), its name and the command that wrote it."
    how = f"<code>{html.escape(cmd)}</code>" if cmd else "written by a notebook in <code>nbs/</code>"
    return (f'<figure class="gallery-item"><a href="figures/{_rel(p)}"><img src="figures/{_rel(p)}" alt="{html.escape(p.stem)}"></a>'
            f'<figcaption><strong>{html.escape(p.stem)}</strong><br>{how}</figcaption></figure>')


SCALE_ORDER = ("cifar10-cpu", "paper", "digits")     # the gallery's sections: the CPU-scale CIFAR-10 results first


def gallery(figures, notebooks):
    """Markdown of the home page's gallery: every figures/*.png as a thumbnail in a grid, in the paper's order, with the
    command that made it; one folded section per scale (figures/<scale>/; CPU-scale CIFAR-10 first), so the page stays short."""
    pngs = _pngs(figures)
    if not pngs: return "## Figure gallery\n\nNo figures yet: run a `nbs/fig*.ipynb` notebook (they write `figures/*.png`)."
    groups = {}
    for p in pngs: groups.setdefault(p.parent.name if Path(p).parent != Path(figures) else "", []).append(p)
    rank = lambda k: (SCALE_ORDER.index(k) if k in SCALE_ORDER else len(SCALE_ORDER), k)
    parts = []
    for k in sorted(groups, key=rank):
        cells = "\n".join(_thumb(p, figure_command(p.stem, notebooks)) for p in groups[k])
        label = html.escape(f"figures/{k}/" if k else "figures/")
        parts.append(f'<details class="gallery-scale"><summary><strong>{label}</strong> '
                     f'({len(groups[k])} figures)</summary>\n<div class="gallery">\n{cells}\n</div>\n</details>')
    return ("## Figure gallery\n\nThe figures in `figures/`, one section per scale, in the paper's order: each thumbnail "
            "opens the full figure, and under it is the command that wrote it. Click a folder to open it.\n\n" + "\n".join(parts))


def add_saved_figures(nb, figures):
    """Show a notebook's saved figures and tables on its page: nbdev_clean strips the outputs from the committed
    notebook, so the PNGs and tables (`.md`) it wrote to figures/ go in a markdown cell after its first `save_figure`
    or `save_table` cell (else at the end); the tables render as HTML tables."""
    owner = lambda p: (src := figure_source(p.stem, _notebooks())) and src[0] == nb["stem"] and src[1]
    own = [(p, cmd) for p in _ordered([*_saved(figures, "*.png"), *_saved(figures, "*.md")]) if (cmd := owner(p))]
    if not own: return 0
    cell = {"cell_type": "markdown", "metadata": {}, "source": "\n\n".join(
        ["**Saved by this notebook** (from `figures/`; the notebooks are stored without their outputs):"]
        + [_table_md(p, cmd) if p.suffix == ".md" else _figure_md(p, cmd, "####") for p, cmd in own])}
    cells = nb["cells"]
    saves = ("save_figure(", "save_table(")
    at = next((i + 1 for i, c in enumerate(cells) if c["cell_type"] == "code" and any(f in "".join(c["source"]) for f in saves)), len(cells))
    cells.insert(at, cell)
    return len(own)


def escape_docstrings(nb):
    """Escape Markdown in the docstrings `show_doc` wrote: they are plain text (`w*CE(x) + beta*w*KL`), and an unescaped
    `*` or `_` would start emphasis and vanish. show_doc puts a docstring on its own line, in a markdown output, as
    `*text*`; returns how many were escaped."""
    n = 0
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is None: continue
            text = "".join(md) if isinstance(md, list) else md
            def esc(m):
                nonlocal n; n += 1
                parts = re.split(r"(`[^`]*`)", m.group(1))          # code spans stay as they are
                return "*" + "".join(q if q.startswith("`") else re.sub(r"([*_\\])", r"\\\1", q) for q in parts) + "*"
            new = re.sub(r"^\*(?!\*)(.+?)\*$", esc, text, flags=re.M)
            o["data"]["text/markdown"] = new
    return n


# Wide code, equations and tables scroll inside the column instead of overflowing it; the gallery is a grid of thumbnails.
SITE_CSS = """
main pre, main div.sourceCode { overflow-x: auto; max-width: 100%; }
main pre code { white-space: pre; }
main .katex-display { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding: 0.2em 0; }
main table { display: block; overflow-x: auto; max-width: 100%; }
main table td { white-space: nowrap; }
main .cell-output-display { overflow-x: auto; max-width: 100%; }
.gallery-scale > summary { cursor: pointer; margin: 0.6rem 0; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 1rem; margin: 1rem 0; }
.gallery-item { margin: 0; border: 1px solid #dee2e6; border-radius: 4px; padding: 0.4rem; background: #fff; }
.gallery-item img { width: 100%; height: 150px; object-fit: contain; display: block; }
.gallery-item figcaption { font-size: 0.75rem; margin-top: 0.3rem; overflow-wrap: anywhere; }
.gallery-item figcaption code { font-size: 0.7rem; white-space: normal; overflow-wrap: anywhere; }
"""


def katex_dist(cache=ROOT / ".cache"):
    "KaTeX's `dist/` folder, fetched once with `npm pack katex@KATEX_VERSION` into `cache`."
    dist = cache / f"katex-{KATEX_VERSION}" / "dist"
    if (dist / "katex.min.js").exists(): return dist
    npm = shutil.which("npm")
    if npm is None: raise DocsError("npm not found: install Node.js/npm once so the build can fetch KaTeX (npm pack katex)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        r = subprocess.run([npm, "pack", f"katex@{KATEX_VERSION}", "--silent"], cwd=tmp, capture_output=True, text=True)
        tgz = list(Path(tmp).glob("katex-*.tgz"))
        if r.returncode or not tgz: raise DocsError(f"npm pack katex@{KATEX_VERSION} failed: {(r.stderr or r.stdout).strip()[-300:]}")
        with tarfile.open(tgz[0]) as t:
            members = [m for m in t.getmembers() if m.name.startswith("package/dist/") and m.isfile() and ".." not in m.name.split("/")]
            t.extractall(tmp, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        shutil.rmtree(dist.parent, ignore_errors=True)
        dist.parent.mkdir(parents=True)
        shutil.move(str(Path(tmp) / "package" / "dist"), dist)
    return dist


def localise(site, dist, site_url=None):
    "Make `site` work offline: KaTeX copied into site_libs/katex instead of the CDN, no web fonts, links to the hosted docs made relative."
    shutil.copytree(dist, site / "site_libs" / "katex", dirs_exist_ok=True)
    (site / "site_libs" / "weat.css").write_text(SITE_CSS, encoding="utf-8")
    for css in (site / "site_libs").rglob("*.css"):           # the Bootswatch themes @import Google Fonts
        text = css.read_text(encoding="utf-8")
        new = re.sub(r"@import\s+url\(\s*[\"']?https?://[^)]*\)\s*;?", "", text)
        if new != text: css.write_text(new, encoding="utf-8")
    hosted = re.compile(re.escape(site_url.rstrip("/") + "/")) if site_url else None
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = "../" * (len(page.relative_to(site).parts) - 1)
        new = CDN_KATEX.sub(f"{up}site_libs/katex", text)
        if "site_libs/weat.css" not in new: new = new.replace("</head>", f'<link rel="stylesheet" href="{up}site_libs/weat.css">\n</head>', 1)
        if hosted: new = hosted.sub(lambda m: up or "./", new)   # nbdev's cross-references name the hosted site
        if new != text: page.write_text(new, encoding="utf-8")


def _stage(proc, stage, figures):
    "Copy nbdev's _proc into `stage` as a smalldocs project: pages named as their output-file, the paper's sidebar, the gallery."
    cfg = {}
    for name in ("_quarto.yml", "nbdev.yml"):          # nbdev's config, merged as Quarto's metadata-files would be
        f = proc / name
        if f.exists(): cfg = _merge(cfg, yaml.safe_load(f.read_text(encoding="utf-8")) or {})
    cfg.pop("metadata-files", None)
    html = cfg.setdefault("format", {}).get("html") or {}
    cfg["format"] = {"html": {k: v for k, v in html.items() if k not in ("keep-md", "css")}}
    cfg["project"] = {"type": "website", "output-dir": "_site"}
    stems = []
    for nb in sorted(proc.glob("*.ipynb")):
        d = json.loads(nb.read_text(encoding="utf-8"))
        first = d["cells"][0] if d["cells"] else None
        out = nb.stem
        if first and first["cell_type"] == "raw":
            src = "".join(first["source"])
            m = re.search(r"^output-file:\s*(\S+)\.html\s*$", src, flags=re.M)
            if m: out = m.group(1)
            first["source"] = re.sub(r"^output-file:.*\n", "", src, flags=re.M)
        if out == "index":
            d["cells"].append({"cell_type": "markdown", "metadata": {}, "source": gallery(figures, _notebooks())})
        else:
            add_saved_figures({**d, "stem": nb.stem}, figures)
        escape_docstrings(d)
        (stage / f"{out}.ipynb").write_text(json.dumps(d), encoding="utf-8")
        stems.append((nb.stem, out))
    order = {src: out for src, out in stems}
    def rename(items):
        return [{**i, "contents": rename(i["contents"])} if isinstance(i, dict) else f"{order[i]}.ipynb" for i in items]
    cfg.setdefault("website", {})["sidebar"] = {"style": "floating", "contents": rename(sidebar(list(order)))}
    cfg["website"].pop("repo-actions", None)
    (stage / "_quarto.yml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    if figures.exists():
        (stage / "figures").mkdir()
        for p in figures.rglob("*.png"):                 # sub-folders too (figures/cifar10-cpu/), not the screenshots
            rel = p.relative_to(figures)
            if rel.parts[0] == "docs": continue
            (stage / "figures" / rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(p, stage / "figures" / rel)
    return cfg


def _merge(a, b):
    "Merge two Quarto configs, b over a, mappings key by key."
    out = dict(a)
    for k, v in b.items(): out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def proc_nbs():
    """`nbdev_proc_nbs` (notebooks to `_proc/`) with two changes that make it safe and quick here.

    1. With no Quarto on PATH, nbdev first tries to download and install Quarto and then runs `pip install -e ".[dev]"`,
       changing whatever environment runs the build; the build needs neither, so that step is skipped.
    2. To make `show_doc` output, nbdev runs the exported cells and every cell that imports something. A cell that
       mixes imports with other code (a test that trains a model, say) would run whole; here only its imports run.
       nbdev_test runs those cells in full anyway."""
    import ast
    import nbdev.processors as P, nbdev.quarto as Q
    Q._ensure_quarto = lambda: None
    call = P.exec_show_docs.__call__
    def imports_only(self, cell):
        trees = cell.parsed_() if cell.cell_type == "code" and P._do_eval(cell) else None
        if trees and hasattr(self, "k") and self.nb.has_docs_ and not cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"}:
            body = list(trees)                    # the top-level statements
            imps = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
            if imps and len(imps) < len(body):
                self.k.run("\n".join(ast.unparse(n) for n in imps))
                if self.k.exc: raise Exception(f"Error in {self.nb.path_ if hasattr(self.nb, 'path_') else 'a notebook'}, imports of:\n{cell.source}") from self.k.exc
                return
        return call(self, cell)
    P.exec_show_docs.__call__ = imports_only
    Q.nbdev_proc_nbs.__wrapped__(n_workers=0)     # in this process: worker processes would not see the two changes


def _notebooks():
    return [p.stem for p in (ROOT / "nbs").glob("*.ipynb")]


def build(out=ROOT / "_docs", quiet=True, proc=True, figures=None):
    "Build the site into `out` (figures from `figures`, default figures/) and return its path."
    from smalldocs.site import build as smalldocs_build
    if proc:
        r = subprocess.run([sys.executable, __file__, "--proc-only"], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: raise DocsError(f"nbdev_proc_nbs failed: {r.stderr.strip()[-1500:]}")
    dist = katex_dist()
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        cfg = _stage(ROOT / "_proc", stage, Path(figures) if figures else ROOT / "figures")
        site = smalldocs_build(stage, quiet=quiet)
        if not quiet:
            for w in site.warnings: print("warning:", w, file=sys.stderr)
        if (stage / "figures").is_dir():              # the gallery's <img> tags are raw HTML, which the renderer does not follow
            shutil.copytree(stage / "figures", stage / "_site" / "figures", dirs_exist_ok=True)
        localise(stage / "_site", dist, cfg.get("website", {}).get("site-url"))
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(stage / "_site", out)
    return out


def serve(site, port=0, host="127.0.0.1"):
    "Serve `site` on host:port in a daemon thread; return the server (its port: server.server_address[1])."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer((host, port), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "_docs"), help="where the site goes (default _docs/)")
    p.add_argument("--serve", type=int, metavar="PORT", help="after building, serve the site on 127.0.0.1:PORT")
    p.add_argument("--no-proc", action="store_true", help="reuse _proc/ as it is (skip nbdev_proc_nbs)")
    p.add_argument("--verbose", action="store_true", help="print smalldocs' warnings")
    p.add_argument("--proc-only", action="store_true", help="only write _proc/ (nbdev_proc_nbs, made safe: see proc_nbs)")
    a = p.parse_args(argv)
    if a.proc_only: return proc_nbs()
    try: site = build(a.out, quiet=not a.verbose, proc=not a.no_proc)
    except DocsError as e: sys.exit(f"build_docs: {e}")
    print(f"site written to {site}")
    if a.serve is not None:
        srv = serve(site, a.serve)
        print(f"serving http://127.0.0.1:{srv.server_address[1]}/ (Ctrl-C stops)")
        try: threading.Event().wait()
        except KeyboardInterrupt: srv.shutdown()


if __name__ == "__main__":
    main()
