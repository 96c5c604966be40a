"""What is expensive is shared, per pytest-xdist worker: kernels come from a pool started ahead, one JupyterLab and one
Notebook 7 serve every test (each in a folder and workspace of its own), one Chromium opens every page."""
import itertools, os, re, pytest
from harness import Kernel, KernelPool, JupyterLab, Notebook7, CHROMIUM, CHROMIUM_ARGS, chromium_missing_reason

@pytest.fixture(scope='session')
def kernel_pool():
    pool = KernelPool()
    yield pool
    pool.close()

@pytest.fixture
def kernel(kernel_pool, tmp_path):
    "A fresh real ipykernel (started ahead, never used before) working in a temp folder; shut down after the test."
    k = kernel_pool.take(tmp_path)
    yield k
    k.shutdown()

@pytest.fixture(scope='session')
def chromium():
    "Debian's Chromium through Playwright; skipped loudly when missing, a failure under FHNB_REQUIRE_BROWSER=1."
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get('FHNB_REQUIRE_BROWSER') == '1': pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

class Servers:
    "One running JupyterLab and one Notebook 7 for the whole session, started on first use (again if one died)."
    def __init__(self, root): self.root, self.running, self.n = root, {}, itertools.count()
    def folder(self, kind, request):
        s = self.running.get(kind)
        if s is None or s.proc.poll() is not None:
            s = self.running[kind] = kind(self.root/kind.__name__.lower())
        name = f'{next(self.n):03d}-' + re.sub(r'[^A-Za-z0-9_-]+', '-', request.node.name)[:60]
        return s.folder(name)
    def stop(self):
        for s in self.running.values(): s.stop()

@pytest.fixture(scope='session')
def servers(tmp_path_factory):
    for d in ('jupyterlab', 'notebook7'): tmp_path_factory.mktemp(d, numbered=False)
    s = Servers(tmp_path_factory.getbasetemp())
    yield s
    s.stop()

def _in_folder(servers, kind, request):
    f = servers.folder(kind, request)
    yield f
    f.close()

@pytest.fixture
def lab(servers, request, tmp_path):
    """A folder of its own in the session's real JupyterLab: `lab.root` is the folder; its kernels are shut down after the
    test. A test marked `own_lab` (it changes JupyterLab's settings) gets a JupyterLab of its own, stopped after."""
    if request.node.get_closest_marker('own_lab'):
        l = JupyterLab(tmp_path)
        yield l
        l.stop()
    else: yield from _in_folder(servers, JupyterLab, request)

@pytest.fixture(params=[JupyterLab, Notebook7], ids=['lab', 'notebook7'])
def jupyter(request, servers):
    "A folder in the session's JupyterLab, then in its Notebook 7: a test that takes it runs in both."
    yield from _in_folder(servers, request.param, request)

@pytest.fixture
def page(chromium):
    "A fresh browser page (own context) at 1280x900."
    ctx = chromium.new_context(viewport={'width': 1280, 'height': 900})
    p = ctx.new_page()
    yield p
    ctx.close()
