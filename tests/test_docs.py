"""The documentation site: built offline from whatever notebooks exist, ordered as the paper, checked in a real browser.

The browser check needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) and
npm (KaTeX comes from the npm registry). Without them the check skips and says why, except under CI, where it fails."""
import json, os, re, shutil, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_docs  # noqa: E402
from build_docs import sidebar, figure_command, gallery  # noqa: E402

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
    "Foundations, energy, data/models, attacks, losses/training, evaluation, generation, analyses, tools; then figures, then tables."
    stems = ["table1_robustness", "fig10_x", "fig3_phases", "00_utils", "14_generate", "index", "fig1a_steps",
             "12_train", "02_energy", "figG_depth", "fig1_scatter", "05_attacks", "13_evaluate", "04_models",
             "17_analysis", "03_data", "06_footprint", "table2a_delta", "07_losses", "fig5bc_pm", "fig5a_subsets", "notes"]
    bar = sidebar(stems)
    assert flat(bar) == ["index", "00_utils", "02_energy", "03_data", "04_models", "05_attacks", "06_footprint", "07_losses",
                         "12_train", "13_evaluate", "14_generate", "17_analysis", "fig1_scatter", "fig1a_steps",
                         "fig3_phases", "fig5a_subsets", "fig5bc_pm", "fig10_x", "figG_depth", "table1_robustness",
                         "table2a_delta", "notes"]
    sections = [i["section"] for i in bar if isinstance(i, dict)]
    assert sections == ["Data and models", "Attacks", "Losses and training", "Reproduce the figures", "Reproduce the tables", "More"]
    assert sidebar(["02_energy"]) == ["02_energy"]          # no empty sections, no index when there is none


def test_figure_command_reads_save_figure_names(tmp_path, monkeypatch):
    "A figure's papermill command: the notebook that saves that name (or whose name starts it), and its parameters as -p."
    def nb(params, code=""):
        cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None, "source": params},
                 {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": code}]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    (tmp_path / "nbs").mkdir()
    p = "method = 'trades'\nn_per_class = 50\nepochs = 3\ndataset = 'digits'"
    (tmp_path / "nbs" / "fig3_phases.ipynb").write_text(nb(p))
    (tmp_path / "nbs" / "fig3_phases_extra.ipynb").write_text(nb(p))
    (tmp_path / "nbs" / "fig6_generation.ipynb").write_text(nb("model = 'x'", 'save_figure(fig, "fig6_top", df, model=model)\n'
                                                               "save_figure(ax.figure, 'figO_presets', df)"))
    monkeypatch.setattr(build_docs, "ROOT", tmp_path)
    nbs = ["fig3_phases", "fig3_phases_extra", "fig6_generation", "02_energy"]
    cmd = lambda stem: figure_command(stem, nbs)
    assert cmd("fig3_phases") == "papermill nbs/fig3_phases.ipynb out.ipynb"
    assert (cmd("fig3_phases_method-mail_trades_n_per_class-50")
            == "papermill nbs/fig3_phases.ipynb out.ipynb -p method mail_trades -p n_per_class 50")
    assert cmd("fig3_phases_extra_epochs-3") == "papermill nbs/fig3_phases_extra.ipynb out.ipynb -p epochs 3"
    # a tag that is no parameter (paper-...) is left out, the parameters after it are kept
    assert (cmd("fig3_phases_dataset-folder--x-y_paper-cifar10_epochs-3")
            == "papermill nbs/fig3_phases.ipynb out.ipynb -p dataset folder--x-y -p epochs 3")
    assert cmd("fig6_top_model-robust") == "papermill nbs/fig6_generation.ipynb out.ipynb -p model robust"
    assert cmd("figO_presets") == "papermill nbs/fig6_generation.ipynb out.ipynb"
    assert cmd("fig9_unknown") is None
    # the figure page shows what the notebook saved, right after the cell that saves it
    figs = tmp_path / "figures"; figs.mkdir()
    for n in ("fig6_top_model-robust", "figO_presets", "fig3_phases"): (figs / f"{n}.png").write_bytes(b"x")
    page = json.loads((tmp_path / "nbs" / "fig6_generation.ipynb").read_text()) | {"stem": "fig6_generation"}
    (figs / "figO_presets.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")           # a table it saved
    assert build_docs.add_saved_figures(page, figs) == 3
    added = page["cells"][2]["source"]
    assert "](figures/fig6_top_model-robust.png)" in added and "](figures/figO_presets.png)" in added and "fig3" not in added
    assert "| a | b |\n|---|---|\n| 1 | 2 |" in added                       # the table itself, as Markdown


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
    md = gallery(tmp_path, [])
    assert 'src="figures/a.png"' in md and 'src="figures/b.png"' in md and "c.csv" not in md
    assert '<div class="gallery">' in md and md.count('<figure class="gallery-item">') == 6 and "\n\n" not in md.split("<div")[1]
    order = [md.index(f'src="figures/{n}.png"') for n in ("fig2_w", "fig10_y", "figG_z", "table1_x", "a", "b")]
    assert order == sorted(order)                              # the paper's order: figures, appendix figures, tables
    assert "No figures yet" in gallery(tmp_path / "empty", [])
    figs = tmp_path / "figures"                                 # one section per scale, CPU-scale CIFAR-10 first and open
    for k in ("digits", "cifar10-cpu", ""): (figs / k).mkdir(parents=True, exist_ok=True); (figs / k / "fig3_x.png").write_bytes(b"x")
    md = gallery(figs, [])
    at = [md.index(f"<strong>figures/{k}</strong>") for k in ("cifar10-cpu/", "digits/", "")]
    assert at == sorted(at) and md.count('<details class="gallery-scale">') == 3, md[:300]     # folded: the page stays short
    assert at[0] < md.index('src="figures/cifar10-cpu/fig3_x.png"') < at[1]
    assert md.count('<figure class="gallery-item">') == 3 and 'src="figures/digits/fig3_x.png"' in md


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site built from this checkout into a temporary folder, with the repo's figures and one made here."
    import shutil as sh
    need(sh.which("npm") or (ROOT / ".cache" / f"katex-{build_docs.KATEX_VERSION}").exists(),
         "npm is not installed, so KaTeX cannot be fetched from the npm registry")
    tmp = tmp_path_factory.mktemp("docs")
    figs = tmp / "figures"
    figs.mkdir()
    for p in [*(ROOT / "figures").rglob("*.png"), *(ROOT / "figures").rglob("*.md")]:      # every scale's folder, not the screenshots
        rel = p.relative_to(ROOT / "figures")
        if rel.parts[0] == "docs": continue
        (figs / rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(p, figs / rel)
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([0, 1], [1, 0]); fig.savefig(figs / "zz_docs_test.png"); plt.close(fig)
    return build_docs.build(tmp / "_docs", figures=figs), figs


def pages_of_notebooks():
    "Each notebook's page, named as nbdev names it (leading number dropped, lower case: 20_benchmark -> benchmark.html)."
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
        owned = [(p, src[0]) for p in sorted(figs.rglob("*.png")) if (src := build_docs.figure_source(p.stem, build_docs._notebooks()))]
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


def test_reviewer_pages_in_chromium(site, browser):
    "Table pages show HTML tables, docstrings keep their `*`, wide code and equations scroll inside the column, the gallery is a thumbnail grid."
    site, figs = site
    pages = pages_of_notebooks()
    srv = build_docs.serve(site)
    host = f"http://127.0.0.1:{srv.server_address[1]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    try:
        # the Tab. 1 page: the table its notebook saved, as an HTML table
        page.goto(f"{host}/{pages['table1_robustness']}", wait_until="networkidle")
        assert page.locator("main table").count() >= 1, "no <table> on the Tab. 1 page"
        assert "clean ours" in page.locator("main table").first.inner_text()
        page.locator("main table").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "table1_robustness.png"), full_page=False)
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
        assert page.evaluate("document.documentElement.scrollHeight") < 8000      # every scale's section folded
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
    finally:
        page.close(); srv.shutdown()


def test_stage_copies_figure_subfolders(tmp_path):
    "Figures in sub-folders (figures/cifar10-cpu/, which the home page shows) reach the site; the screenshots do not."
    (tmp_path / "proc").mkdir(); (tmp_path / "stage").mkdir()
    figs = tmp_path / "figures"
    for rel in ("a.png", "cifar10-cpu/b.png", "docs/shot.png"):
        (figs / rel).parent.mkdir(parents=True, exist_ok=True); (figs / rel).write_bytes(b"png")
    build_docs._stage(tmp_path / "proc", tmp_path / "stage", figs)
    got = sorted(p.relative_to(tmp_path / "stage").as_posix() for p in (tmp_path / "stage" / "figures").rglob("*.png"))
    assert got == ["figures/a.png", "figures/cifar10-cpu/b.png"]
