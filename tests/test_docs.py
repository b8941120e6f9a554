"""The documentation site: built offline from whatever notebooks exist, ordered as the paper, checked in a real browser.

The browser check needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) and
npm (KaTeX comes from the npm registry). Without them the check skips and says why, except under CI, where it fails."""
import html, json, os, re, shutil, sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_docs  # noqa: E402
from build_docs import sidebar, gallery  # noqa: E402

CHROMIUM = Path(os.environ.get("WEAT_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SHOTS = ROOT / "figures" / "docs"


def need(ok, why):
    "Skip with a reason on a user's machine; fail under CI, where everything must be there."
    if ok: return
    if os.environ.get("CI"): pytest.fail(f"{why} (CI must provide it: see .ci/run)")
    pytest.skip(why)


def flat(items):
    "The page names of a sidebar, in order, sections opened."
    return [p for i in items for p in (flat(i["contents"]) if isinstance(i, dict) else [i])]


def test_sidebar_follows_the_paper():
    "Home and the claims ledger first; foundations, energy, data/models, attacks, losses/training, evaluation, generation, analyses, tools; figures; tables."
    stems = ["table1_robustness", "fig10_x", "fig3_phases", "00_utils", "14_generate", "index", "fig1a_steps", "claims",
             "12_train", "02_energy", "figG_depth", "fig1_scatter", "05_attacks", "13_evaluate", "04_models",
             "17_analysis", "03_data", "06_footprint", "table2a_delta", "07_losses", "fig5bc_pm", "fig5a_subsets", "notes"]
    bar = sidebar(stems)
    assert flat(bar) == ["index", "claims", "00_utils", "02_energy", "03_data", "04_models", "05_attacks", "06_footprint", "07_losses",
                         "12_train", "13_evaluate", "14_generate", "17_analysis", "fig1_scatter", "fig1a_steps",
                         "fig3_phases", "fig5a_subsets", "fig5bc_pm", "fig10_x", "figG_depth", "table1_robustness",
                         "table2a_delta", "notes"]
    sections = [i["section"] for i in bar if isinstance(i, dict)]
    assert sections == ["Data and models", "Attacks", "Losses and training", "Reproduce the figures", "Reproduce the tables", "More"]
    assert sidebar(["02_energy"]) == ["02_energy"]          # no empty sections, no index when there is none


def record(folder, stem, notebook, command, files, scale=None):
    "Write a result record as save_figure/save_table do: figures/<scale>/<stem>.json beside the files it names."
    folder.mkdir(parents=True, exist_ok=True)
    rec = dict(notebook=notebook, scale=scale or folder.name, parameters={}, command=command, files=list(files),
               protocol_fingerprint="0" * 12)
    (folder / f"{stem}.json").write_text(json.dumps(rec))
    return rec


def test_gallery_and_pages_read_the_records(tmp_path):
    "The gallery shows each figure's command from its record (no file-name parsing); a notebook's page shows the files whose records name it."
    figs = tmp_path / "figures"
    cmd = "papermill nbs/fig3_phases.ipynb out.ipynb --log-output -p protocol cifar10-cpu -p methods sat,trades,weat_adv"
    record(figs / "cifar10-cpu", "fig3_x", "nbs/fig3_phases.ipynb", cmd, ["fig3_x.png", "fig3_x.csv"])
    record(figs / "digits", "fig6_top", "fig6_generation", "papermill nbs/fig6_generation.ipynb out.ipynb --log-output",
           ["fig6_top.png", "fig6_table.md"])
    record(figs / "digits", "fig7_made_in_code", None, None, ["fig7_made_in_code.png"])     # a record with no notebook and no command
    for rel in ("cifar10-cpu/fig3_x.png", "digits/fig6_top.png", "digits/fig9_orphan.png", "digits/fig7_made_in_code.png"):
        (figs / rel).write_bytes(b"x")
    (figs / "digits" / "fig6_table.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    md = gallery(figs)
    assert f'<code class="command">{html.escape(cmd)}</code>' in md                              # the record's command, as it is
    orphan = md[md.index("fig9_orphan"):]
    assert "written by a notebook in" in orphan[:300] and "papermill" not in orphan[:300]   # no record: no invented command
    made = md[md.index("fig7_made_in_code"):]
    assert "written by a notebook in" in made[:300] and "papermill" not in made[:300]
    page = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []},
                      {"cell_type": "code", "source": "save_figure(fig, name)", "metadata": {}, "outputs": []},
                      {"cell_type": "markdown", "source": "end", "metadata": {}}]}
    assert build_docs.add_saved_figures(page, figs, "fig6_generation") == 2
    added = page["cells"][2]["source"]                                           # right after the cell that saves
    assert "](figures/digits/fig6_top.png)" in added and "| a | b |" in added and "fig3_x" not in added
    assert "papermill nbs/fig6_generation.ipynb out.ipynb --log-output" in added
    assert build_docs.add_saved_figures(page, figs, "fig1_energy_scatter") == 0


def test_tables_are_arranged_for_a_narrow_column():
    "A protocol column shared by every row becomes a note under the table; one that differs moves last; ours/paper/Δ columns get one header per metric."
    md = ("| method | protocol | clean ours | clean paper | clean Δ |\n|---|---|---|---|---|\n"
          "| sat | differs: epochs=30 | 36.93 ± 2.17 | 82.43 | -45.50 |\n| weat_adv | differs: epochs=30 | 33.10 | 81.00 | -47.90 |\n\nafter")
    out = build_docs.readable_table(md)
    assert "*Protocol of every row:* differs: epochs=30" in out and out.count("differs") == 1 and out.endswith("after")
    assert '<th colspan="3">clean</th>' in out and "<th>ours</th><th>paper</th><th>Δ</th>" in out and "<td>36.93<br>±&nbsp;2.17</td>" in out
    assert '<th rowspan="2">method</th>' in out and "<td>weat_<wbr>adv</td>" in out
    md2 = "| a | protocol | b |\n|---|---|---|\n| 1 | x | 2*y*z |\n| 3 | paper | **holds** |"
    out2 = build_docs.readable_table(md2)
    assert out2.splitlines()[0] == "| a | b | protocol |" and "| 1 | 2\\*y\\*z | x |" in out2 and "**holds**" in out2
    from markdown_it import MarkdownIt
    assert "<td>2*y*z</td>" in MarkdownIt("commonmark").enable("table").render(out2)     # a lone * is text, not emphasis
    ledger = "| claim | measured |\n|---|---|\n| Tab. 2a | smaller \\|ΔE(x)\\| |"
    assert build_docs.readable_table(ledger) == ledger                           # escaped | stays inside its cell


def test_docstrings_keep_their_stars():
    "show_doc's docstring line is `*text*`: the text's own `*` and `_` are escaped (outside code spans), so `w*CE` stays."
    md = "### f\n\n*The loss w*CE(x) + beta*w*KL over `n_per_class`, a_b_*\n\n**bold** stays"
    nb = {"cells": [{"cell_type": "code", "outputs": [{"data": {"text/markdown": md}}]}]}
    assert build_docs.escape_docstrings(nb) == 1
    out = nb["cells"][0]["outputs"][0]["data"]["text/markdown"]
    assert "*The loss w\\*CE(x) + beta\\*w\\*KL over `n_per_class`, a\\_b\\_*" in out and "**bold** stays" in out
    from markdown_it import MarkdownIt
    html = MarkdownIt("commonmark").render(out)
    assert "<em>The loss w*CE(x) + beta*w*KL over <code>n_per_class</code>, a_b_</em>" in html


def test_gallery_lists_every_png(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x"); (tmp_path / "b.png").write_bytes(b"x"); (tmp_path / "c.csv").write_text("")
    for n in ("table1_x", "fig10_y", "figG_z", "fig2_w"): (tmp_path / f"{n}.png").write_bytes(b"x")
    md = gallery(tmp_path)
    assert 'src="figures/a.png"' in md and 'src="figures/b.png"' in md and "c.csv" not in md
    assert '<div class="gallery">' in md and md.count('<figure class="gallery-item">') == 6 and "\n\n" not in md.split("<div")[1]
    order = [md.index(f'src="figures/{n}.png"') for n in ("fig2_w", "fig10_y", "figG_z", "table1_x", "a", "b")]
    assert order == sorted(order)                              # the paper's order: figures, appendix figures, tables
    assert "No figures yet" in gallery(tmp_path / "empty")
    figs = tmp_path / "figures"                                 # one section per scale, CPU-scale CIFAR-10 first and open
    for k in ("digits", "cifar10-cpu", ""): (figs / k).mkdir(parents=True, exist_ok=True); (figs / k / "fig3_x.png").write_bytes(b"x")
    md = gallery(figs)
    at = [md.index(f"<strong>figures/{k}</strong>") for k in ("cifar10-cpu/", "digits/", "")]
    assert at == sorted(at) and md.count('<details class="gallery-scale"') == 3, md[:300]     # folded: the page stays short
    assert at[0] < md.index('src="figures/cifar10-cpu/fig3_x.png"') < at[1]
    assert md.count('<figure class="gallery-item">') == 3 and 'src="figures/digits/fig3_x.png"' in md


TABLE_PAGES = ("table1_robustness", "table1c_ablation")     # their tables must read in the text column


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site built from this checkout into a temporary folder, with the repo's figures, tables and result records, and one figure made here with its record."
    import shutil as sh
    need(sh.which("npm") or (ROOT / ".cache" / f"katex-{build_docs.KATEX_VERSION}").exists(),
         "npm is not installed, so KaTeX cannot be fetched from the npm registry")
    tmp = tmp_path_factory.mktemp("docs")
    figs = tmp / "figures"
    sh.copytree(ROOT / "figures", figs, ignore=sh.ignore_patterns("docs"))          # every scale's folder, not the screenshots
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([0, 1], [1, 0]); fig.savefig(figs / "cifar10-cpu" / "zz_docs_test.png"); plt.close(fig)
    record(figs / "cifar10-cpu", "zz_docs_test", "nbs/fig3_phases.ipynb",
           "papermill nbs/fig3_phases.ipynb out.ipynb --log-output -p protocol cifar10-cpu", ["zz_docs_test.png"])
    return build_docs.build(tmp / "_docs", figures=figs), figs


def pages_of_notebooks():
    "Each notebook's page, named as nbdev names it (leading number dropped, lower case: 20a_benchmark -> benchmark.html)."
    from nbdev.doclinks import _nbpath2html
    return {nb.stem: _nbpath2html(nb).name for nb in (ROOT / "nbs").glob("*.ipynb")}


def test_site_has_every_notebook_in_paper_order(site):
    "Every notebook of nbs/ is a page, and the sidebar lists them in the paper's order; KaTeX is local."
    site, figs = site
    pages = pages_of_notebooks()
    for stem, page in pages.items(): assert (site / page).exists(), f"no page for nbs/{stem}.ipynb"
    index = (site / "index.html").read_text(encoding="utf-8")
    nav = index[index.index('id="quarto-sidebar"'):]
    links = [h for h in re.findall(r'href="(?:\./)?([\w.-]+\.html)"', nav[:nav.index("</nav>")])]
    expected = [pages[s] for s in flat(sidebar(list(pages)))]
    assert [l for l in dict.fromkeys(links) if l in expected] == expected
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "cdn.jsdelivr" not in text and "fonts.googleapis" not in text, page.name
    assert (site / "site_libs" / "katex" / "katex.min.js").exists()
    assert len(list((site / "figures").rglob("*.png"))) == len(list(figs.rglob("*.png")))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    "Debian's Chromium, headless, driven by Playwright, with a new empty profile (--user-data-dir)."
    need(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (Debian) to run the browser check")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev requirement: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
                                                   headless=True, args=FLAGS, viewport={"width": 1280, "height": 900})
        yield ctx
        ctx.close()


def test_pages_render_in_chromium(site, browser, tmp_path):
    "Index and an API page in headless Chromium: titles, typeset maths (no raw TeX), no broken image, nothing fetched off-host."
    site, figs = site
    srv = build_docs.serve(site)
    host = f"http://127.0.0.1:{srv.server_address[1]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    off_host, failed = [], []
    page = browser.new_page()
    page.on("request", lambda r: None if r.url.startswith(host) or r.url.startswith("data:") else off_host.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)   # the favicon too
    try:
        for name, title, min_math in (("index.html", "weat_paper", 3), ("energy.html", "Energy", 10)):
            page.goto(f"{host}/{name}", wait_until="networkidle")
            page.wait_for_function("document.querySelectorAll('.katex').length > 0", timeout=15000)
            assert page.title().split(" – ")[0] == title
            assert page.locator("h1").first.inner_text().strip() == title
            assert page.locator(".katex").count() >= min_math              # KaTeX typeset the maths
            body = page.locator("main").inner_text()
            assert "$$" not in body and "\\mathbf" not in body and "\\frac" not in body and not re.search(r"\$[^$\s][^$]*\$", body)
            imgs = page.eval_on_selector_all("main img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])")
            assert all(ok for _, ok in imgs), [s for s, ok in imgs if not ok]
            page.screenshot(path=str(SHOTS / name.replace(".html", ".png")), full_page=False)
            if name == "index.html":
                srcs = {s for s, _ in imgs}
                assert {f"figures/{p.relative_to(figs).as_posix()}" for p in figs.rglob("*.png")} <= srcs, "the gallery misses a figure"
                page.locator("#figure-gallery").scroll_into_view_if_needed()
                page.screenshot(path=str(SHOTS / "gallery.png"), full_page=False)
        assert page.evaluate("document.fonts.check('16px KaTeX_Main')")  # the KaTeX fonts came from the site
        # a reproduce-a-figure page shows the figure its notebook saved (the stored notebook has no outputs)
        recs = build_docs.records(figs)
        owned = [(p, build_docs.owner(recs[p])) for p in sorted(figs.rglob("*.png")) if p in recs]
        if owned:
            png, nb = owned[0]
            page.goto(f"{host}/{pages_of_notebooks()[nb]}", wait_until="networkidle")
            imgs = page.eval_on_selector_all("main img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])")
            src = f"figures/{png.relative_to(figs).as_posix()}"
            assert (src, True) in [tuple(i) for i in imgs], imgs
            page.locator(f"img[src='{src}']").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "figure_page.png"), full_page=False)
    finally:
        page.close(); srv.shutdown()
    assert off_host == [] and failed == [], (off_host, failed)


def test_readme_images_exist():
    "Every picture README.md (the home page) shows is a file in the checkout, so neither GitHub nor the site shows it broken."
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    srcs = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text) + re.findall(r'<img[^>]+src="([^"]+)"', text)
    missing = [s for s in srcs if not s.startswith(("http://", "https://", "data:")) and not (ROOT / s).is_file()]
    assert missing == []


OVERFLOW_JS = """() => {
  const main = document.querySelector('main').getBoundingClientRect();
  const wide = [];
  for (const el of document.querySelectorAll('main pre, main .katex-display, main table')) {
    const r = el.getBoundingClientRect(), ox = getComputedStyle(el).overflowX;
    if (r.width === 0) continue;
    if (r.right > main.right + 1 || (el.scrollWidth > el.clientWidth + 1 && !['auto', 'scroll'].includes(ox)))
      wide.push(el.tagName + '.' + el.className + ': ' + el.textContent.slice(0, 60));
  }
  return {wide, page: document.documentElement.scrollWidth, view: window.innerWidth};
}"""


@contextmanager
def served(site, browser):
    "The site served on a free localhost port, and a new Chromium page: (host, page); both closed afterwards."
    srv = build_docs.serve(site)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}", page
    finally: page.close(); srv.shutdown()


def test_reviewer_pages_in_chromium(site, browser):
    "Table pages show HTML tables, docstrings keep their `*`, wide code and equations scroll inside the column, the gallery is a thumbnail grid."
    site, figs = site
    pages = pages_of_notebooks()
    with served(site, browser) as (host, page):
        # the Tab. 1 page: the table its notebook saved, as an HTML table
        page.goto(f"{host}/{pages['table1_robustness']}", wait_until="networkidle")
        assert page.locator("main table").count() >= 1, "no <table> on the Tab. 1 page"
        head = page.locator("main table").first.locator("thead").inner_text()
        assert "clean" in head and "ours" in head and "paper" in head
        # the losses page: docstrings with `*` keep it; nothing overflows the column on any page looked at
        page.goto(f"{host}/{pages['07_losses']}", wait_until="networkidle")
        page.wait_for_function("document.querySelectorAll('.katex').length > 0", timeout=15000)
        body = page.locator("main").inner_text()
        assert "sum w*CE + beta (1/m) sum w*KL" in body, "weat_loss's docstring lost its *"
        page.screenshot(path=str(SHOTS / "losses.png"), full_page=False)
        for name in (pages["07_losses"], pages["02_energy"], pages["table1_robustness"], "index.html"):
            page.goto(f"{host}/{name}", wait_until="networkidle")
            o = page.evaluate(OVERFLOW_JS)
            assert o["wide"] == [] and o["page"] <= o["view"], (name, o)
        # the home page: the gallery is a grid of thumbnails, not one full-width figure after another
        page.goto(f"{host}/index.html", wait_until="networkidle")
        folded = page.evaluate("""() => [...document.querySelectorAll('.gallery-scale')].map(d => [d.open, d.getBoundingClientRect().height])""")
        assert folded and all(not o and h < 80 for o, h in folded), folded        # every scale's section folded: the page stays short
        assert page.locator(".gallery-item img").count() == len(list(figs.rglob("*.png")))
        page.locator(".gallery-scale > summary").first.click()                     # open the first scale
        first = page.locator(".gallery-scale").first
        assert first.evaluate("e => e.open"), "the first gallery section did not open"
        boxes = first.locator(".gallery-item img").evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
        assert len(boxes) >= 3 and all(0 < b["height"] <= 160 and 0 < b["width"] <= 400 for b in boxes), boxes[:3]
        assert len({round(b["top"]) for b in boxes[:3]}) == 1, "the first thumbnails are not on one row"
        toc = page.locator("#TOC, nav[role='doc-toc']")
        if toc.count(): assert not any(p.stem in toc.first.inner_text() for p in figs.rglob("*.png")), "the gallery's files are in 'On this page'"
        page.locator(".gallery").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "home_gallery.png"), full_page=False)
        page.goto(f"{host}/index.html", wait_until="networkidle")
        page.screenshot(path=str(SHOTS / "home.png"), full_page=False)
        html_ = "".join(p.read_text(encoding="utf-8") for p in site.glob("*.html"))
        assert "github.com/weat-paper" not in html_, "a link into the unpublished repository"


TABLES_JS = """() => {
  const main = document.querySelector('main').getBoundingClientRect(), out = [];
  for (const t of document.querySelectorAll('main table')) {
    const r = t.getBoundingClientRect();
    const cut = [...t.querySelectorAll('th, td')].filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent.slice(0, 40));
    let scrolls = false;
    for (let e = t; e && e !== document.body; e = e.parentElement) if (e.scrollWidth > e.clientWidth + 1) scrolls = true;
    out.push({left: r.left - main.left, right: r.right - main.right, width: r.width, cells: t.querySelectorAll('td').length, cut, scrolls,
              text: t.textContent.slice(0, 60)});
  }
  return {main: main.width, tables: out, page: document.documentElement.scrollWidth, view: window.innerWidth};
}"""


def test_tables_read_in_the_column(site, browser):
    """Every cell of the tables on the Tab. 1, Tab. 1c and ledger pages is readable in the text column (760 px at most)
    without horizontal scrolling: no table wider than the column, no cell whose text is cut, nothing that scrolls sideways.
    The ledger is the first thing on its page and second in the sidebar. Screenshots: figures/docs/."""
    site, figs = site
    pages = pages_of_notebooks()
    with served(site, browser) as (host, page):
        for nb in (*TABLE_PAGES, "claims"):
            page.goto(f"{host}/{pages[nb]}", wait_until="networkidle")
            o = page.evaluate(TABLES_JS)
            assert 600 <= o["main"] <= 760, o["main"]                       # the column the tables must fit
            assert o["tables"] and all(t["cells"] for t in o["tables"]), (nb, o)
            bad = [t for t in o["tables"] if t["left"] < -1 or t["right"] > 1 or t["cut"] or t["scrolls"]]
            assert bad == [] and o["page"] <= o["view"], (nb, bad)
            if nb != "claims": assert "differs:" not in "".join(t["text"] for t in o["tables"])   # the protocol is a note
            page.locator("main table").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{nb}.png"), full_page=False)
        # a parameters cell's comments wrap inside their code block instead of running out of it
        page.goto(f"{host}/{pages['fig3_phases']}", wait_until="networkidle")
        wide = page.evaluate("""() => [...document.querySelectorAll('main div.sourceCode pre')].filter(e => e.scrollWidth > e.clientWidth + 1)
                                      .map(e => e.textContent.slice(0, 60))""")
        assert wide == [] and "# training epochs" in page.locator("main").inner_text(), wide
        # the ledger: first on its page, before the code that computes it, and near the top of the sidebar
        page.goto(f"{host}/{pages['claims']}", wait_until="networkidle")
        first = page.evaluate("""() => { const m = document.querySelector('main');
            const t = m.querySelector('table'), c = m.querySelector('div.sourceCode, .cell');
            return {table_before_code: !!t && (!c || !!(t.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING)),
                    head: t ? t.querySelector('thead').textContent : ''}; }""")
        assert first["table_before_code"] and "the paper says" in first["head"], first
        nav = page.locator("#quarto-sidebar a.sidebar-item-text, #quarto-sidebar a.sidebar-link").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))")
        assert [h.lstrip("./") for h in nav[:2]] == ["index.html", pages["claims"]], nav[:4]
        page.screenshot(path=str(SHOTS / "claims.png"), full_page=False)


def command_scale(cmd):
    "The results folder (scale) a papermill command writes to: its -p protocol/dataset over the notebook's defaults."
    from weat_paper.outputs import notebook_parameters, results_scale
    words = cmd.split()
    nb = next(w for w in words if w.endswith(".ipynb") and w.startswith("nbs/"))
    given = {words[i + 1]: words[i + 2] for i, w in enumerate(words[:-2]) if w == "-p"}
    defaults = {k: v[1] for k, v in notebook_parameters(ROOT / nb).items()}
    values = {**defaults, **given}
    return results_scale(values.get("dataset"), values.get("protocol", "quick"))


def test_gallery_commands_carry_their_scale(site, browser):
    "Every command under a gallery thumbnail writes to the folder (scale) that thumbnail's figure is in; every recorded figure shows its command."
    site, figs = site
    with served(site, browser) as (host, page):
        page.goto(f"{host}/index.html", wait_until="networkidle")
        items = page.evaluate("""() => [...document.querySelectorAll('.gallery-scale')].flatMap(s =>
            [...s.querySelectorAll('.gallery-item')].map(i => ({scale: s.dataset.scale, src: i.querySelector('img').getAttribute('src'),
             cmd: (i.querySelector('figcaption code.command') || {}).textContent || null})))""")
    recs = build_docs.records(figs)
    shown = {i["src"]: i for i in items}
    for p, rec in recs.items():
        if p.suffix == ".png": assert shown[f"figures/{p.relative_to(figs).as_posix()}"]["cmd"] == rec["command"], p
    with_cmd = [i for i in items if i["cmd"]]
    assert len(items) > 20 and len(with_cmd) == len(items), [i["src"] for i in items if not i["cmd"]]   # every entry: its record's
    wrong = [(i["src"], i["cmd"]) for i in with_cmd if command_scale(i["cmd"]) != i["scale"]]
    assert wrong == [], wrong
    assert command_scale("papermill nbs/fig3_phases.ipynb out.ipynb -p protocol cifar10-cpu") == "cifar10-cpu"
    assert command_scale("papermill nbs/fig3_phases.ipynb out.ipynb") == "digits"     # the default scale


def test_stage_copies_figure_subfolders(tmp_path):
    "Figures in sub-folders (figures/cifar10-cpu/, which the home page shows) reach the site; the screenshots do not."
    (tmp_path / "proc").mkdir(); (tmp_path / "stage").mkdir()
    figs = tmp_path / "figures"
    for rel in ("a.png", "cifar10-cpu/b.png", "docs/shot.png"):
        (figs / rel).parent.mkdir(parents=True, exist_ok=True); (figs / rel).write_bytes(b"png")
    build_docs._stage(tmp_path / "proc", tmp_path / "stage", figs)
    got = sorted(p.relative_to(tmp_path / "stage").as_posix() for p in (tmp_path / "stage" / "figures").rglob("*.png"))
    assert got == ["figures/a.png", "figures/cifar10-cpu/b.png"]
