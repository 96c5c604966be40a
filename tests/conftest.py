import os, pytest
from harness import Kernel, JupyterLab, Notebook7, CHROMIUM, CHROMIUM_ARGS, chromium_missing_reason

@pytest.fixture
def kernel(tmp_path):
    "A fresh real ipykernel working in a temp folder; shut down after the test."
    k = Kernel(cwd=tmp_path)
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

@pytest.fixture
def lab(tmp_path):
    "A real JupyterLab rooted in a temp folder; stopped after the test."
    l = JupyterLab(tmp_path)
    yield l
    l.stop()

@pytest.fixture(params=[JupyterLab, Notebook7], ids=['lab', 'notebook7'])
def jupyter(request, tmp_path):
    "JupyterLab, then Notebook 7, rooted in a temp folder: a test that takes it runs in both; stopped after."
    j = request.param(tmp_path)
    yield j
    j.stop()

@pytest.fixture
def page(chromium):
    "A fresh browser page (own context) at 1280x900."
    ctx = chromium.new_context(viewport={'width': 1280, 'height': 900})
    p = ctx.new_page()
    yield p
    ctx.close()
