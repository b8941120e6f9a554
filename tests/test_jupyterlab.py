"""JupyterLab: what a researcher meets, through the server's own REST and websocket APIs and in a real browser.

Starts `jupyter lab` headless on a free localhost port with a token, lists `nbs/`, opens a kernel session on a notebook
(as clicking it in Lab does), runs every code cell of that notebook in the server's kernel, and stops the server. In
Chromium, a committed notebook opened and saved in Lab stays byte for byte as committed (so `git status` stays clean)."""
import configparser, difflib, json, os, re, shutil, socket, subprocess, sys, time, uuid
import urllib.error, urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = "nbs/02_energy.ipynb"            # small, and it checks itself: its tests are fastcore assertions
TOKEN = uuid.uuid4().hex
def _tst_flags():
    c = configparser.ConfigParser(); c.read(ROOT / "settings.ini")
    return set(c["DEFAULT"]["tst_flags"].split())
SKIP_FLAGS = _tst_flags()                   # as nbdev_test: settings.ini's tst_flags (notest, slow, gpu, cifar10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


class Lab:
    "A `jupyter lab` process and a tiny client for its REST API."
    def __init__(self, tmp, root=ROOT):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
               "JUPYTER_DATA_DIR": str(tmp / "data"), "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "PYTHONPATH": str(ROOT)}
        exe = BIN / "jupyter-lab"
        self.log = open(tmp / "lab.log", "w+")
        self.proc = subprocess.Popen(
            [str(exe) if exe.exists() else "jupyter-lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--port-retries=0", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
             "--LabApp.extension_manager=readonly", *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def request(self, method, path, body=None, timeout=30):
        req = urllib.request.Request(self.base + path, method=method, headers={"Authorization": f"token {TOKEN}",
                                     "Content-Type": "application/json"}, data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text and r.headers.get_content_type() == "application/json" else text)

    def wait_ready(self, timeout=90):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None: break
            try: return self.request("GET", "/api/status", timeout=2)[1]
            except (urllib.error.URLError, ConnectionError, TimeoutError): time.sleep(0.5)
        self.log.seek(0)
        pytest.fail(f"jupyter lab did not answer within {timeout} s; its log:\n{self.log.read()[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            try: self.request("POST", "/api/shutdown", timeout=5)
            except (urllib.error.URLError, ConnectionError, TimeoutError): pass
            try: self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired: self.proc.terminate(); self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (BIN / "jupyter-lab").exists() and shutil.which("jupyter-lab") is None:
        pytest.skip("jupyter-lab is not installed (pip install -e '.[dev]' installs it)")
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        assert server.proc.returncode is not None, "the server is still running"


def test_lab_page_and_contents(lab):
    "The Lab page is served, and the contents API lists every notebook of nbs/."
    status, page = lab.request("GET", "/lab")
    assert status == 200 and "JupyterLab" in page
    status, listing = lab.request("GET", "/api/contents/nbs?content=1")
    assert status == 200 and listing["type"] == "directory"
    names = {c["name"] for c in listing["content"] if c["type"] == "notebook"}
    assert names == {p.name for p in (ROOT / "nbs").glob("*.ipynb")} and "02_energy.ipynb" in names
    status, nb = lab.request("GET", f"/api/contents/{NOTEBOOK}")
    assert nb["type"] == "notebook" and nb["content"]["cells"]


def code_cells(nb):
    "The code cells nbdev_test would run: those without a skip flag (`#| slow`, `#| gpu`, `#| cifar10`, ...)."
    out = []
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        flags = {w for line in re.findall(r"^#\|\s*(.+)$", src, flags=re.M) for w in line.split()}
        if not flags & SKIP_FLAGS: out.append(src)
    return out


def execute(ws, session, code, timeout=120):
    "Send one execute_request on the kernel's websocket; return (reply content, error outputs, stream text)."
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
                                   "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                    "allow_stdin": False, "stop_on_error": True}, "buffers": []}))
    reply, errors, text, idle = None, [], [], False
    t0 = time.monotonic()
    while not (reply is not None and idle):
        assert time.monotonic() - t0 < timeout, f"no reply within {timeout} s to:\n{code[:300]}"
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != msg_id: continue
        kind = m["header"]["msg_type"]
        if kind == "execute_reply": reply = m["content"]
        elif kind == "error": errors.append(m["content"])
        elif kind == "stream": text.append(m["content"]["text"])
        elif kind == "status" and m["content"]["execution_state"] == "idle": idle = True
    return reply, errors, "".join(text)


def test_notebook_runs_in_server_kernel(lab):
    "Open a session on the notebook as Lab does, run its cells in that kernel, get `ok` from each, and close it."
    websocket = pytest.importorskip("websocket", reason="websocket-client comes with jupyter_server")
    status, sess = lab.request("POST", "/api/sessions", {"path": NOTEBOOK, "type": "notebook", "name": "02_energy.ipynb",
                                                         "kernel": {"name": "python3"}})
    assert status == 201, sess
    kid = sess["kernel"]["id"]
    ws = websocket.create_connection(f"ws://127.0.0.1:{lab.port}/api/kernels/{kid}/channels?token={TOKEN}", timeout=120)
    try:
        _, nb = lab.request("GET", f"/api/contents/{NOTEBOOK}")
        cells = code_cells(nb["content"])
        assert len(cells) >= 5
        for code in cells:
            reply, errors, _ = execute(ws, sess["id"], code)
            assert reply["status"] == "ok" and not errors, f"cell failed in the server's kernel:\n{code}\n{errors}"
        # the kernel runs in the notebook's folder, with this checkout's package
        reply, _, out = execute(ws, sess["id"], "import os, weat_paper; print(os.getcwd()); print(weat_paper.__file__)")
        cwd, pkg = out.split()
        assert Path(cwd) == ROOT / "nbs" and Path(pkg).is_relative_to(ROOT)
    finally:
        ws.close()
    status, _ = lab.request("DELETE", f"/api/sessions/{sess['id']}")
    assert status == 204
    _, kernels = lab.request("GET", "/api/kernels")
    assert kid not in {k["id"] for k in kernels}


LAB_METADATA = {"name": "python"}     # what Lab puts in `language_info` when a notebook has none (and then marks it unsaved)


def test_committed_notebooks_carry_the_metadata_lab_writes():
    "Every notebook has Lab's own `language_info` and the kernel nbdev_clean names, so opening one changes nothing."
    bad = [p.name for p in sorted((ROOT / "nbs").glob("*.ipynb"))
           if (lambda m: m.get("language_info") != LAB_METADATA or m.get("kernelspec", {}).get("name") != "python3")(
               json.loads(p.read_text(encoding="utf-8"))["metadata"])]
    assert bad == [], (f"notebooks Lab would mark unsaved on opening: {bad}; give each metadata.language_info = "
                       f"{LAB_METADATA} (settings.ini's allowed_metadata_keys keeps it through nbdev_clean)")
    c = configparser.ConfigParser(); c.read(ROOT / "settings.ini")
    assert "language_info" in c["DEFAULT"]["allowed_metadata_keys"].split()


def test_open_and_save_in_lab_leaves_the_notebook_as_committed(tmp_path):
    """In Chromium: open a committed notebook in Lab, let its kernel start, save it: its cells are unchanged; only the kernel
    metadata may change, chiefly `kernelspec.display_name` ("python3" becomes "Python 3 (ipykernel)"), which nbdev_clean
    always resets to the committed value."""
    chromium = Path(os.environ.get("WEAT_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        if os.environ.get("CI"): pytest.fail(f"Chromium not found at {chromium} (CI must provide it: see .ci/run)")
        pytest.skip(f"Chromium not found at {chromium}: `apt-get install chromium` to run the browser check")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev requirement: pip install -e '.[dev]'")
    if not (BIN / "jupyter-lab").exists() and shutil.which("jupyter-lab") is None: pytest.skip("jupyter-lab is not installed")
    root = tmp_path / "root"; root.mkdir()
    name = Path(NOTEBOOK).name
    committed = (ROOT / NOTEBOOK).read_bytes()
    (root / name).write_bytes(committed)                     # a copy: the checkout is never written
    lab = Lab(tmp_path, root=root)
    try:
        lab.wait_ready()
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{lab.base}/lab/tree/{name}?token={TOKEN}")
            page.wait_for_selector(".jp-NotebookPanel", timeout=90000)
            page.wait_for_function("(e => e && e.getAttribute('data-status') === 'idle')"
                                   "(document.querySelector('.jp-Notebook-ExecutionIndicator'))", timeout=90000)
            time.sleep(2)                                    # the kernel's info has arrived and been applied
            dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
            page.keyboard.press("Control+s")
            page.wait_for_function("document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty').length === 0", timeout=30000)
            time.sleep(1)
            browser.close()
    finally:
        lab.stop()
    saved = (root / name).read_bytes()
    a, b = json.loads(committed), json.loads(saved)
    assert b["cells"] == a["cells"], "saving in Lab changed the notebook's cells:\n" + "\n".join(
        difflib.unified_diff(committed.decode().splitlines(), saved.decode().splitlines(), lineterm="", n=1))
    kernel_reported = {"kernelspec", "language_info"}
    assert {k: v for k, v in b["metadata"].items() if k not in kernel_reported} == {k: v for k, v in a["metadata"].items() if k not in kernel_reported}
    assert b["metadata"]["language_info"]["name"] == a["metadata"]["language_info"]["name"] == "python"
    if dirty == 0: assert saved == committed, "Lab showed no change but saving changed the file"
