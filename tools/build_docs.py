"""Build the documentation site offline, in pure Python: `python tools/build_docs.py` writes `_docs/`.

nbdev's notebook processors (`show_doc`, `#|` directives, front matter) write `_proc/`; the pages are rendered by
`smalldocs`, which reads Quarto's `_quarto.yml`, with a sidebar in the paper's order. What is the project's own: the
gallery of saved figures on the home page and, on each notebook's page, what that notebook saved -- both read from the
result records that `save_figure` and `save_table` write beside each file (`figures/<scale>/<stem>.json`). KaTeX, taken
once from the npm registry (`npm pack katex`, cached in `.cache/`), is copied into the site so that the equations typeset
with no network. `--serve PORT` serves the result on 127.0.0.1."""
import argparse, ast, functools, html, http.server, json, os, re, shutil, subprocess, sys, tarfile, tempfile, threading, warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
KATEX_VERSION = "0.16.22"          # the KaTeX release copied into the site (npm registry)
CDN_KATEX = re.compile(r"https://cdn\.jsdelivr\.net/npm/katex@[^/\"']+/dist")

# The sidebar follows the paper: the claims ledger first, library notebooks by their number, then the reproduce-a-figure/table pages.
SECTIONS = [("Foundations", 0, 1), ("Energy", 2, 2), ("Data and models", 3, 4), ("Attacks", 5, 6), ("Losses and training", 7, 12),
            ("Evaluation", 13, 13), ("Generation", 14, 15), ("Analyses", 16, 17), ("Tools", 18, 21),
            ("Measuring the claims", 22, 99)]
FIRST = ("index", "claims")        # pages at the top of the sidebar, in this order


class DocsError(Exception):
    "A build step that cannot go on; the message is one line for the user."


def _natural(s):
    "Sort key that puts fig2 before fig10 and fig5a before fig5b, and numbered figures before lettered (appendix) ones."
    m = re.match(r"(fig|table)(\d*)([A-Za-z]*)", s)
    num, letters = (m.group(2), m.group(3)) if m else ("", s)
    return (0, int(num), letters.lower(), s) if num else (1, 0, letters.lower(), s)


def sidebar(stems):
    "Quarto sidebar `contents` for notebook stems (names without .ipynb): home, ledger, sections in the paper's order, figures, tables."
    numbered = {s: int(m.group(1)) for s in stems if (m := re.match(r"(\d+)[a-zA-Z0-9]*_", s))}   # 06_footprint is 6
    figs = sorted((s for s in stems if s.startswith("fig")), key=_natural)
    tabs = sorted((s for s in stems if s.startswith("table")), key=_natural)
    rest = sorted(s for s in stems if s not in numbered and s not in figs and s not in tabs and s not in FIRST)
    out = [s for s in FIRST if s in stems]
    for title, lo, hi in SECTIONS:
        pages = sorted((s for s, n in numbered.items() if lo <= n <= hi), key=lambda s: (numbered[s], s))
        if len(pages) == 1: out += pages                  # a one-page section is that page
        elif pages: out.append({"section": title, "contents": pages})
    for title, pages in (("Reproduce the figures", figs), ("Reproduce the tables", tabs), ("More", rest)):
        if pages: out.append({"section": title, "contents": pages})
    return out


# ---- the result records: which notebook and command wrote each saved file ----

RECORD_KEYS = {"notebook", "scale", "command", "files"}


def _saved(figures, pattern):
    "figures/**/<pattern>, every scale's folder, not the browser test's screenshots (figures/docs/)."
    return [p for p in Path(figures).rglob(pattern) if p.relative_to(figures).parts[0] != "docs"]


def records(figures):
    "{saved file: its record} from the result records under `figures` (`<stem>.json` beside the files it names)."
    out = {}
    for j in sorted(_saved(figures, "*.json")):
        try: rec = json.loads(j.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError): continue
        if isinstance(rec, dict) and RECORD_KEYS <= rec.keys():
            for f in rec["files"]: out[j.parent / f] = rec
    return out


def owner(rec):
    "The notebook stem of a record (`notebook` may be `fig3_phases`, `fig3_phases.ipynb` or `nbs/fig3_phases.ipynb`); None when it names none."
    return Path(rec["notebook"]).stem if rec.get("notebook") else None


def _ordered(files):
    "Saved files in the paper's order: figures, appendix figures, tables, the rest."
    kind = lambda stem: 0 if stem.startswith("fig") else 1 if stem.startswith("table") else 2
    return sorted(files, key=lambda p: (kind(p.stem), _natural(p.stem)))


def _rel(p, figures):
    "A saved file's path below figures/ (figures/<scale>/<name>)."
    return Path(p).relative_to(figures).as_posix()


def _how(cmd, code_html=False):
    if not cmd: return "written by a notebook in <code>nbs/</code>" if code_html else "Written by a notebook in `nbs/`."
    return f"<code class=\"command\">{html.escape(cmd)}</code>" if code_html else f"```bash\n{cmd}\n```"


# ---- tables: readable in the text column ----

def _cells(line):
    "The cells of one markdown table row (a `\\|` inside a cell is text, not a border)."
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _plain(cell):
    """A table cell's text as text: a lone `*` (as in `beta*w*KL`) is escaped, not emphasis (`**bold**` stays), and an
    identifier's `_` may break the line (`abl_kl_ceadv`), outside code spans."""
    def fix(q):
        if q.startswith("`"): return q
        q = re.sub(r"(?<![*\\])\*(?!\*)", r"\\*", q)
        return re.sub(r"(?<=\w)(?<!\\)_(?=\w)", r"\\_<wbr>", q)
    return "".join(fix(q) for q in re.split(r"(`[^`]*`)", cell))


def readable_table(md):
    """A saved markdown table arranged to read in a narrow column: a `protocol` column (long, the same text in most rows)
    leaves the table -- a note under it when every row has the same text, else the last column; cells hold text (see `_plain`)."""
    lines = md.strip().splitlines()
    at = next((i for i, l in enumerate(lines) if l.startswith("|")), None)
    if at is None or at + 1 >= len(lines): return md
    end = next((i for i in range(at, len(lines)) if not lines[i].startswith("|")), len(lines))
    head, rows = _cells(lines[at]), [_cells(l) for l in lines[at + 2:end]]
    if any(len(r) != len(head) for r in rows): return md
    k = head.index("protocol") if "protocol" in head else None
    values = [r[k] for r in rows] if k is not None else []
    one = len(set(values)) == 1
    move = lambda r: r if k is None else r[:k] + r[k + 1:] + ([] if one else [r[k]])
    row = lambda cells: "| " + " | ".join(_plain(c) for c in cells) + " |"
    head, rows = move(head), [move(r) for r in rows]
    grouped = _grouped_html(head, rows)
    table = [grouped] if grouped else [row(head), "|" + "---|" * len(head), *(row(r) for r in rows)]
    note = ["", f"*Protocol of every row:* {values[0]}"] if one else []
    return "\n".join(lines[:at] + table + note + lines[end:])


GROUP = re.compile(r"^(.+) (ours|paper|Δ)$")


def _grouped_html(head, rows):
    """The table as HTML with a two-row header when its columns come in groups `<metric> ours | <metric> paper | <metric> Δ`
    (Tab. 1, Tab. 1c): the metric once over its group, so that each column is as narrow as its numbers; None otherwise."""
    groups = [m.group(1) if (m := GROUP.match(h)) else None for h in head]
    if not any(groups): return None
    cell = lambda t: re.sub(r"(?<=\w)_(?=\w)", "_<wbr>", html.escape(t)).replace(" ± ", "<br>±&nbsp;")   # the spread under its mean
    top, sub, i = [], [], 0
    while i < len(head):
        g, n = groups[i], 1
        while g and i + n < len(head) and groups[i + n] == g: n += 1
        if g: top.append(f'<th colspan="{n}">{cell(g)}</th>'); sub += [f"<th>{cell(GROUP.match(h).group(2))}</th>" for h in head[i:i + n]]
        else: top.append(f'<th rowspan="2">{cell(head[i])}</th>')
        i += n
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (f'<table class="table grouped"><thead><tr>{"".join(top)}</tr><tr>{"".join(sub)}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _figure_md(p, cmd, figures):
    return f"#### {p.stem}\n\n![{p.stem}](figures/{_rel(p, figures)}){{.img-fluid}}\n\n{_how(cmd)}"


def _table_md(p, cmd):
    "A saved table (figures/<scale>/<stem>.md) as it goes on its notebook's page: wrapped to the column, with its command."
    return f"#### {p.stem}\n\n{readable_table(p.read_text(encoding='utf-8'))}\n\n{_how(cmd)}"


def _thumb(p, cmd, figures):
    "One gallery cell: the thumbnail (a link to the full figure), its name and the command that wrote it."
    src = f"figures/{_rel(p, figures)}"
    return (f'<figure class="gallery-item"><a href="{src}"><img src="{src}" alt="{html.escape(p.stem)}"></a>'
            f'<figcaption><strong>{html.escape(p.stem)}</strong><br>{_how(cmd, code_html=True)}</figcaption></figure>')


SCALE_ORDER = ("cifar10-cpu", "paper", "digits")     # the gallery's sections: the CPU-scale CIFAR-10 results first


def gallery(figures):
    """Markdown of the home page's gallery: every figures/<scale>/*.png as a thumbnail in a grid, in the paper's order,
    with the command of its result record; one folded section per scale, so the page stays short."""
    figures = Path(figures)
    pngs, recs = _ordered(_saved(figures, "*.png")), records(figures)
    if not pngs: return "## Figure gallery\n\nNo figures yet: run a `nbs/fig*.ipynb` notebook (they write `figures/<scale>/*.png`)."
    groups = {}
    for p in pngs: groups.setdefault(p.parent.relative_to(figures).as_posix() if p.parent != figures else "", []).append(p)
    rank = lambda k: (SCALE_ORDER.index(k) if k in SCALE_ORDER else len(SCALE_ORDER), k)
    parts = []
    for k in sorted(groups, key=rank):
        cells = "\n".join(_thumb(p, recs.get(p, {}).get("command"), figures) for p in groups[k])
        label = html.escape(f"figures/{k}/" if k else "figures/")
        parts.append(f'<details class="gallery-scale" data-scale="{html.escape(k)}"><summary><strong>{label}</strong> '
                     f'({len(groups[k])} figures)</summary>\n<div class="gallery">\n{cells}\n</div>\n</details>')
    return ("## Figure gallery\n\nThe figures in `figures/`, one section per scale, in the paper's order: each thumbnail "
            "opens the full figure, and under it is the command that wrote it. Click a folder to open it.\n\n" + "\n".join(parts))


def add_saved_figures(nb, figures, stem):
    """Show what notebook `stem` saved on its page (the committed notebooks have no outputs): the PNGs and tables whose
    records name it, in a markdown cell after its first `save_figure`/`save_table` cell (else at the end)."""
    recs = records(figures)
    own = [p for p in _ordered(recs) if owner(recs[p]) == stem and p.suffix in (".png", ".md") and p.is_file()]
    if not own: return 0
    parts = [_table_md(p, recs[p]["command"]) if p.suffix == ".md" else _figure_md(p, recs[p]["command"], figures) for p in own]
    cell = {"cell_type": "markdown", "metadata": {}, "source": "\n\n".join(
        ["**Saved by this notebook** (from `figures/`; the notebooks are stored without their outputs):"] + parts)}
    cells, saves = nb["cells"], ("save_figure(", "save_table(")
    at = next((i + 1 for i, c in enumerate(cells) if c["cell_type"] == "code" and any(f in "".join(c["source"]) for f in saves)), len(cells))
    cells.insert(at, cell)
    return len(own)


def add_ledger(nb, figures):
    "The claims ledger (figures/claims.md) first on its page, right after the title, before the code that computes it."
    p = Path(figures) / "claims.md"
    if not p.is_file(): return False
    at = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "raw" else 0
    nb["cells"].insert(at, {"cell_type": "markdown", "metadata": {}, "source":
                            "## Which claims hold\n\nEach claim of the paper, measured at each scale from the committed results, "
                            "with its noise and a verdict computed by the code below (`figures/claims.md`):\n\n"
                            + readable_table(p.read_text(encoding="utf-8"))})
    return True


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
            o["data"]["text/markdown"] = re.sub(r"^\*(?!\*)(.+?)\*$", esc, text, flags=re.M)
    return n


SOURCE_LINK = re.compile(r"\[source\]\([^)]*\)")


def drop_source_links(nb):
    "Remove show_doc's `[source](...)` links: they point into a repository URL that is not published."
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is not None: o["data"]["text/markdown"] = SOURCE_LINK.sub("", "".join(md) if isinstance(md, list) else md)


# Wide code and equations scroll inside the column; tables wrap their cells to the column; the gallery is a grid of thumbnails.
SITE_CSS = """
main pre, main div.sourceCode { overflow-x: auto; max-width: 100%; }
main pre code { white-space: pre; }
main div.sourceCode pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
main .katex-display { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding: 0.2em 0; }
main table { max-width: 100%; font-size: 0.74rem; line-height: 1.3; }
main table th, main table td { white-space: normal; overflow-wrap: break-word; padding: 0.15rem 0.22rem !important; vertical-align: top; }
main table.grouped { font-size: 0.7rem; }
main table.grouped th, main table.grouped td { padding: 0.12rem 0.16rem !important; }
main table.grouped thead th[colspan] { text-align: center; border-bottom: 1px solid #dee2e6; }
main .cell-output-display { overflow-x: auto; max-width: 100%; }
.gallery-scale > summary { cursor: pointer; margin: 0.6rem 0; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 1rem; margin: 1rem 0; }
.gallery-item { margin: 0; border: 1px solid #dee2e6; border-radius: 4px; padding: 0.4rem; background: #fff; }
.gallery-item img { width: 100%; height: 150px; object-fit: contain; display: block; }
.gallery-item figcaption { font-size: 0.75rem; margin-top: 0.3rem; overflow-wrap: anywhere; }
.gallery-item figcaption code { font-size: 0.7rem; white-space: normal; overflow-wrap: anywhere; }
"""

# The favicon: the site's own, so that browsers find /favicon.ico instead of a 404 (an energy-well glyph, SVG).
FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2780e3"/>'
           '<path d="M2 4 Q8 20 14 4" stroke="#fff" stroke-width="2" fill="none"/><circle cx="8" cy="10" r="1.8" fill="#fff"/></svg>')


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
    (site / "favicon.svg").write_text(FAVICON, encoding="utf-8")
    for css in (site / "site_libs").rglob("*.css"):           # the Bootswatch themes @import Google Fonts
        text = css.read_text(encoding="utf-8")
        new = re.sub(r"@import\s+url\(\s*[\"']?https?://[^)]*\)\s*;?", "", text)
        if new != text: css.write_text(new, encoding="utf-8")
    hosted = re.compile(re.escape(site_url.rstrip("/") + "/")) if site_url else None
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = "../" * (len(page.relative_to(site).parts) - 1)
        new = CDN_KATEX.sub(f"{up}site_libs/katex", text)
        if "site_libs/weat.css" not in new:
            new = new.replace("</head>", f'<link rel="stylesheet" href="{up}site_libs/weat.css">\n'
                                         f'<link rel="icon" type="image/svg+xml" href="{up}favicon.svg">\n</head>', 1)
        if hosted: new = hosted.sub(lambda m: up or "./", new)   # nbdev's cross-references name the hosted site
        if new != text: page.write_text(new, encoding="utf-8")


def _config(nbs):
    "The site's Quarto config: nbs/_quarto.yml over nbdev.yml (title, URLs from settings.ini), for smalldocs."
    cfg = {}
    for name in ("nbdev.yml", "_quarto.yml"):
        f = nbs / name
        if f.exists(): cfg = _merge(cfg, yaml.safe_load(f.read_text(encoding="utf-8")) or {})
    cfg.pop("metadata-files", None)
    html_ = cfg.setdefault("format", {}).get("html") or {}
    cfg["format"] = {"html": {k: v for k, v in html_.items() if k not in ("keep-md", "css")}}
    cfg["project"] = {"type": "website", "output-dir": "_site"}
    for k in ("repo-actions", "repo-url", "repo-branch", "issue-url"): cfg.setdefault("website", {}).pop(k, None)   # no public repository
    return cfg


def _stage(proc, stage, figures, nbs=None):
    "Copy the processed notebooks into `stage` as a smalldocs project: pages named as their output-file, the paper's sidebar, what each saved."
    cfg = _config(Path(nbs) if nbs else ROOT / "nbs")
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
        if out == "index": d["cells"].append({"cell_type": "markdown", "metadata": {}, "source": gallery(figures)})
        else: add_saved_figures(d, figures, nb.stem)
        if nb.stem == "claims": add_ledger(d, figures)
        escape_docstrings(d); drop_source_links(d)
        (stage / f"{out}.ipynb").write_text(json.dumps(d), encoding="utf-8")
        stems.append((nb.stem, out))
    order = dict(stems)
    def rename(items):
        return [{**i, "contents": rename(i["contents"])} if isinstance(i, dict) else f"{order[i]}.ipynb" for i in items]
    cfg.setdefault("website", {})["sidebar"] = {"style": "floating", "contents": rename(sidebar(list(order)))}
    (stage / "_quarto.yml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    for p in _saved(figures, "*.png"):                   # every scale's folder, not the screenshots
        dst = stage / "figures" / p.relative_to(figures)
        dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(p, dst)
    return cfg


def _merge(a, b):
    "Merge two Quarto configs, b over a, mappings key by key."
    out = dict(a)
    for k, v in b.items(): out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def proc_nbs(nbs=ROOT / "nbs", out=ROOT / "_proc"):
    """nbdev's processing of every notebook in `nbs` into `out`, through its public processors (`FilterDefaults`).

    One processor is ours: nbdev runs every cell that imports something (at any depth) to render `show_doc`, and a cell
    that mixes imports with a test (one that trains a model, say) would run whole; here a cell that is neither exported
    nor a `show_doc` call runs only its top-level imports (nbdev_test runs the cells in full). nbdev's own entry point (`nbdev_proc_nbs`) is not used: with no Quarto on PATH it first installs
    Quarto and runs `pip install -e ".[dev]"`, which the build needs neither of."""
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults, exec_show_docs
    from nbdev.quarto import refresh_quarto_yml

    class exec_imports_of_tests(exec_show_docs):
        "exec_show_docs, except that of a cell that is neither exported nor a `show_doc` call only the top-level imports run."
        def __call__(self, cell):
            trees = cell.parsed_() if cell.cell_type == "code" and getattr(self, "k", None) and self.nb.has_docs_ else None
            if trees and not cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"} and "show_doc(" not in cell.source:
                imps = [n for n in trees if isinstance(n, (ast.Import, ast.ImportFrom))]
                if imps:
                    self.k.run("\n".join(ast.unparse(n) for n in imps))
                    if self.k.exc: raise DocsError(f"the imports of a cell failed: {cell.source[:200]!r}: {self.k.exc}")
                return
            return super().__call__(cell)

    class Filter(FilterDefaults):
        def base_procs(self): return [exec_imports_of_tests if p is exec_show_docs else p for p in super().base_procs()]

    refresh_quarto_yml()
    shutil.rmtree(out, ignore_errors=True); out.mkdir()
    os.environ["IN_TEST"] = "1"                   # as nbdev's own processing: the notebooks write results to a temporary place
    warnings.filterwarnings("ignore", message="Found cells containing imports")
    for nb in sorted(Path(nbs).glob("*.ipynb")):
        d = read_nb(nb)
        Filter()(d)
        write_nb(d, out / nb.name)


def _notebooks():
    return [p.stem for p in (ROOT / "nbs").glob("*.ipynb")]


def build(out=ROOT / "_docs", quiet=True, proc=True, figures=None):
    "Build the site into `out` (figures from `figures`, default figures/) and return its path."
    from smalldocs.site import build as smalldocs_build
    if proc:                                          # in a process of its own: the notebooks' imports stay out of this one
        r = subprocess.run([sys.executable, __file__, "--proc-only"], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: raise DocsError(f"processing the notebooks failed: {r.stderr.strip()[-1500:]}")
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
    p.add_argument("--no-proc", action="store_true", help="reuse _proc/ as it is (skip processing the notebooks)")
    p.add_argument("--verbose", action="store_true", help="print smalldocs' warnings")
    p.add_argument("--proc-only", action="store_true", help="only write _proc/ (nbdev's processing of the notebooks)")
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
