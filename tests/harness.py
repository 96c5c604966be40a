"""Real parts for the tests: free loopback ports, a real ipykernel, a real JupyterLab driven by Chromium."""
from __future__ import annotations
import http.client, json, os, re, signal, socket, subprocess, sys, tempfile, textwrap, threading, time, urllib.request, uuid
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
import nbformat
from jupyter_client.manager import start_new_kernel

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic']
ARTIFACTS = Path(__file__).resolve().parent.parent/'test-artifacts'

def free_port() -> int:
    "A TCP port on 127.0.0.1 that nothing listens on right now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_http(url:str, timeout:float=60, proc:subprocess.Popen|None=None):
    "Poll `url` until it answers (any HTTP status), or fail naming it."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None: raise RuntimeError(f'{proc.args[:3]} exited with {proc.returncode} before {url} answered')
        try: urllib.request.urlopen(url, timeout=2); return
        except urllib.error.HTTPError: return
        except OSError: time.sleep(0.1)
    raise TimeoutError(f'{url} did not answer within {timeout}s')

@dataclass
class CellResult:
    "What one executed cell sent back."
    stdout:str = ''
    stderr:str = ''
    outputs:list = field(default_factory=list)  # display_data / execute_result `data` dicts
    error:str|None = None                       # 'Name: value' of an exception
    traceback:str = ''

    @property
    def text(self) -> str: return '\n'.join(o.get('text/plain', '') for o in self.outputs)

def run_py(code:str, cwd=None, timeout:float=120) -> subprocess.CompletedProcess:
    "Run `code` (dedented) in a fresh interpreter in `cwd`; its exit code and output."
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=timeout)

class Kernel:
    "A real ipykernel started with jupyter_client; `run` executes a cell and collects its output. `with Kernel(...) as k:` shuts it down after."
    def __init__(self, cwd:str|Path|None=None, **launch):
        "`launch`: more arguments for starting the kernel's process (`env`, `stdout`, `stderr`)."
        self.km, self.kc = start_new_kernel(kernel_name='python3', cwd=str(cwd) if cwd else None, **launch)

    def __enter__(self): return self
    def __exit__(self, *exc): self.shutdown()

    def run(self, code:str, timeout:float=120) -> CellResult:
        res = CellResult()
        msg_id = self.kc.execute(code)
        end = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, end - time.monotonic()))
            if msg['parent_header'].get('msg_id') != msg_id: continue
            t, c = msg['msg_type'], msg['content']
            if t == 'stream': setattr(res, c['name'], getattr(res, c['name']) + c['text'])
            elif t in ('display_data', 'execute_result'): res.outputs.append(c['data'])
            elif t == 'error': res.error, res.traceback = f"{c['ename']}: {c['evalue']}", '\n'.join(c['traceback'])
            elif t == 'status' and c['execution_state'] == 'idle': return res

    def ok(self, code:str, timeout:float=120) -> CellResult:
        "Run `code` and fail the test with the kernel's traceback if it raised."
        r = self.run(code, timeout)
        assert r.error is None, f'{r.error}\n{r.traceback}'
        return r

    def chdir(self, cwd:str|Path):
        "Move the kernel to `cwd`, for its cells and for a restart (as if started there), leaving no trace in its history."
        self.kc.execute(f'import os as _os; _os.chdir({str(cwd)!r}); del _os', silent=True, store_history=False)
        reply = self.kc.get_shell_msg(timeout=60)['content']
        assert reply['status'] == 'ok', reply
        self.km._launch_args['cwd'] = str(cwd)   # jupyter_client restarts a kernel with the arguments it was started with

    def shutdown(self):
        self.kc.stop_channels()
        if self.km.is_alive(): self.km.shutdown_kernel(now=True)

class KernelPool:
    """Kernels started ahead, on a thread, while the tests run: `take(cwd)` hands over a started kernel moved to `cwd` and
    starts the next. Started with the environment the pool was made in (not a test's monkeypatched one)."""
    def __init__(self):
        self.env, self.spare = dict(os.environ), None

    def _start(self):
        f = self.spare = Future()
        def start():
            try:
                d = Path(tempfile.mkdtemp(prefix='fhnb-kernel-'))
                log = open(d/'kernel.log', 'w')   # started between tests: its output would land in pytest's own (kept open for restarts)
                f.set_result(Kernel(cwd=d, env=self.env, stdout=log, stderr=subprocess.STDOUT))
            except BaseException as e: f.set_exception(e)
        threading.Thread(target=start, daemon=True, name='fhnb-kernel-pool').start()

    def take(self, cwd:str|Path) -> Kernel:
        if self.spare is None: self._start()
        k = self.spare.result(timeout=120)
        self._start()
        k.chdir(cwd)
        return k

    def close(self):
        if self.spare is not None: self.spare.result(timeout=120).shutdown()

def chromium_missing_reason() -> str|None:
    if Path(CHROMIUM).exists(): return None
    return f'Debian Chromium not found at {CHROMIUM}: apt-get install chromium (CI installs it; FHNB_REQUIRE_BROWSER=1 makes this a failure)'

def todo_routes(title:str='Todos') -> str:
    "DESIGN.md's Todo app's page and its Add route, as a notebook cell."
    return ("@rt('/')\n"
            f"def get(): return Titled({title!r}, Ul(*[Li(t.title) for t in todos()], id='list'),\n"
            "    Form(Input(name='title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend', id='new'))\n\n"
            "@rt('/add')\n"
            "def post(title: str): return Li(todos.insert(title=title, done=False).title)")

def todo_cells(htmx4:bool=False) -> list[str]:
    "DESIGN.md's Todo app as notebook cells, on htmx 4 if `htmx4`: its app, its page and route, the server, the preview `p`."
    return [("from fasthtml.common import *\n"
             f"app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, pk='id'), htmx4={htmx4})"),
            todo_routes(), "from fhnb import *\nserve_nb(app)", "p = preview('/')\np"]

def write_notebook(path:Path, *sources:str):
    "Write a notebook whose code cells are `sources`."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)

class JupyterLab:
    "A real JupyterLab on a free loopback port, rooted in `root`, with `window.jupyterapp` exposed."
    # `jupyter COMMAND`, its traitlets class, where a notebook opens, `window.jupyterapp.name`
    command, app_class, tree, name = 'lab', 'LabApp', 'lab/tree', 'JupyterLab'
    def __init__(self, root:Path, extra_args:tuple=()):
        self.root, self.token = Path(root), uuid.uuid4().hex
        # Own settings and workspaces: no news prompt over the page, nothing from the user's JupyterLab.
        state = Path(tempfile.mkdtemp(prefix='fhnb-lab-'))
        notes = state/'settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
        notes.parent.mkdir(parents=True)
        notes.write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
        env = {**os.environ, 'JUPYTERLAB_SETTINGS_DIR': str(state/'settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(state/'workspaces')}
        for attempt in range(3):
            # The free port may be taken before JupyterLab binds it (by a kernel starting on a pool thread or in another
            # worker): then JupyterLab stops (no retries on other ports, which this URL would not know) or the port
            # answers in another protocol, and another free port is tried.
            self.port = free_port()
            self.base = f'http://127.0.0.1:{self.port}'
            args = [sys.executable, '-m', 'jupyter', self.command, '--no-browser', f'--port={self.port}', '--ServerApp.port_retries=0',
                    '--ip=127.0.0.1', f'--ServerApp.root_dir={self.root}', f'--IdentityProvider.token={self.token}',
                    f'--{self.app_class}.expose_app_in_browser=True', '--ServerApp.open_browser=False',
                    '--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', *extra_args]
            if os.geteuid() == 0: args.append('--allow-root')
            self.log = open(state/'jupyterlab.log', 'a')
            self.proc = subprocess.Popen(args, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT, env=env)
            # a last guard only: on a loaded 2-core machine a JupyterLab has taken over a minute to answer
            try: return wait_http(f'{self.base}/api/status?token={self.token}', timeout=300, proc=self.proc)
            except (RuntimeError, http.client.HTTPException):
                self.stop()
                if attempt == 2: raise
            except BaseException: self.stop(); raise

    def url(self, path:str) -> str: return f'{self.base}/{self.tree}/{path}?token={self.token}'

    def stop(self):
        self.proc.terminate()
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        self.log.close()

    def api(self, path:str, method:str='GET'):
        "Call the Jupyter server's REST API at `/api/{path}`; its JSON answer (None when empty)."
        req = urllib.request.Request(f'{self.base}/api/{path}', method=method, headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(req, timeout=30) as r: body = r.read()
        return json.loads(body) if body else None

    def folder(self, name:str) -> 'LabFolder':
        "A new folder `name` in this server, for one test: see `LabFolder`."
        return LabFolder(self, name)

class LabFolder:
    """One test's own folder in a JupyterLab (or Notebook 7) shared by the tests of a worker: `root` is the folder,
    `url(name)` opens a notebook in it, in a workspace of its own (nothing restored from an earlier test's page), and
    `close()` shuts down the kernels of the notebooks in it. Everything else is the server's (`base`, `port`, `token`)."""
    def __init__(self, server:JupyterLab, name:str):
        self.server, self.sub = server, name
        self.root = server.root/name
        self.root.mkdir()

    def __getattr__(self, name): return getattr(self.server, name)

    def url(self, path:str) -> str:
        s = self.server
        if isinstance(s, Notebook7): return s.url(f'{self.sub}/{path}')
        return f'{s.base}/lab/workspaces/{self.sub}/tree/{self.sub}/{path}?token={s.token}'

    def close(self):
        "Shut down the kernels of this folder's notebooks (the server goes on for the next test)."
        if self.server.proc.poll() is not None: return   # the server itself died: the next test starts another
        for sess in self.server.api('sessions'):
            if sess['path'].startswith(self.sub + '/'): self.server.api(f"sessions/{sess['id']}", 'DELETE')

class Notebook7(JupyterLab):
    "A real Notebook 7 (`jupyter notebook`): JupyterLab's notebook and widget code in its own one-document shell."
    command, app_class, tree, name = 'notebook', 'JupyterNotebookApp', 'notebooks', 'Jupyter Notebook'

def open_notebook(page, lab:JupyterLab, name:str, timeout:float=60_000, host:str='127.0.0.1'):
    "Open notebook `name` in `page` (JupyterLab's address on `host`, such as `localhost`) and wait until its kernel is idle."
    page.goto(lab.url(name).replace('//127.0.0.1:', f'//{host}:', 1))
    page.wait_for_function('() => window.jupyterapp && window.jupyterapp.shell.currentWidget && '
                           'window.jupyterapp.shell.currentWidget.sessionContext && '
                           'window.jupyterapp.shell.currentWidget.sessionContext.session && '
                           'window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && '
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'", timeout=timeout)

def run_all_cells(page, timeout:float=120_000):
    "Run every cell of the current notebook and wait until the kernel is idle and no cell is pending."
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function('() => { const nb = window.jupyterapp.shell.currentWidget; '
                           "return nb.sessionContext.session.kernel.status === 'idle' && "
                           "![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*')); }",
                           timeout=timeout)

def notebook_errors(page) -> list[str]:
    "The error outputs the current notebook shows (tracebacks, stderr), to say why a cell's output is missing."
    return page.eval_on_selector_all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                                     'els => els.map(e => e.innerText.slice(-1500))')

def frame(page, n:int=0, timeout:float=30_000):
    "The `n`th preview's page (a Playwright Frame; -1: the last), scrolled into view; if there is none, fail with the notebook's errors."
    pv = page.locator('.fhnb-preview').nth(n)
    try: pv.wait_for(state='attached', timeout=timeout)
    except Exception: raise AssertionError(f'no preview #{n}; the notebook shows these errors: {notebook_errors(page)}') from None
    pv.scroll_into_view_if_needed()
    pv.wait_for(state='visible', timeout=timeout)
    # A preview first tries its direct URL, on the other loopback name (another site: a frame in another process), while
    # it finds its route; where that fails, the page that follows (proxy, or kernel in a fresh iframe) is another frame.
    # So wait until the frame shows what the route the preview settled on loads: a URL, or the kernel route's srcdoc.
    end = time.monotonic() + timeout / 1000
    while True:
        route, f = pv.get_attribute('data-route'), pv.locator('iframe').first.element_handle().content_frame()
        if (route and f is not None and f.url.startswith('about:srcdoc' if route == 'kernel' else 'http')) or time.monotonic() > end: return f
        page.wait_for_timeout(50)

def screenshot(page, name:str) -> Path:
    "Save a screenshot under test-artifacts/ and return its path."
    ARTIFACTS.mkdir(exist_ok=True)
    p = ARTIFACTS/f'{name}.png'
    page.screenshot(path=str(p), full_page=True)
    return p

def run_cell(page, source:str, index:int|None=None, timeout:float=60_000) -> int:
    "Set cell `index` of the current notebook to `source` (default: a new cell at the end), run it, wait until it finished; its index."
    index, before = page.evaluate('''async ([src, index]) => {
        const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        if (index === null) { nb.activeCellIndex = nb.widgets.length - 1; await app.commands.execute('notebook:insert-cell-below'); index = nb.activeCellIndex; }
        const cell = nb.widgets[index];
        cell.model.sharedModel.setSource(src);
        const before = cell.model.executionCount;
        nb.activeCellIndex = index; nb.deselectAll();
        await app.commands.execute('notebook:run-cell');
        return [index, before]; }''', [source, index])
    page.wait_for_function('''([index, before]) => { const panel = window.jupyterapp.shell.currentWidget, m = panel.content.widgets[index].model;
        return m.executionCount !== null && m.executionCount !== before && panel.sessionContext.session.kernel.status === 'idle'; }''',
                           arg=[index, before], timeout=timeout)
    return index

def cell_output(page, index:int) -> str:
    "The text cell `index` of the current notebook shows as its output."
    return page.locator('.jp-Notebook .jp-Cell').nth(index).locator('.jp-OutputArea-output').inner_text().strip()

@contextmanager
def serving(*args, cwd:Path):
    "`fhnb serve ARGS` running in `cwd`; yields (base URL, process). Stopped with Ctrl-C (SIGINT) after."
    out, err = open(cwd/'serve.out', 'w+'), open(cwd/'serve.err', 'w+')
    p = subprocess.Popen([sys.executable, '-m', 'fhnb', 'serve', *map(str, args)], cwd=cwd, stdout=out, stderr=err, text=True)
    try:
        end = time.monotonic() + 60
        while not (m := re.search(r'at (http://\S+?)/ ', (cwd/'serve.out').read_text())):
            assert p.poll() is None and time.monotonic() < end, f'fhnb serve did not start: {(cwd/"serve.err").read_text()}'
            time.sleep(0.05)
        url = m.group(1)
        wait_http(url + '/', proc=p)
        yield url, p
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try: p.wait(20)
            except subprocess.TimeoutExpired: p.kill(); p.wait()
        out.close(); err.close()
