"""fhnb.testing in a real kernel: `HxClient` answers shown inline, and fhnb's `HTML` (`fhnb.assets`) in the seed's two spellings; `nbdev-test` of a new project on scratch copies of its data."""
import json, os, re, subprocess, sys, textwrap
import pytest
import httpx
from harness import free_port, wait_http

WELCOME = textwrap.dedent('''
    from fasthtml.common import *
    from fhnb import *
    app, rt = fast_app()

    @rt('/')
    def get(): return HTML(Body(Main(H1('Hello, World!'), Input(name='username', hx_post='/welcome', hx_target='#welcome-msg', hx_swap='innerHTML'), P(id='welcome-msg'))))

    @rt('/welcome')
    def post(username: str = ''): return P(f'Welcome {username}!')

    hx = HxClient(app)''')

def test_hxclient_answer_shows_the_fragment(kernel):
    kernel.ok(WELCOME)
    out = kernel.ok("hx.post('/welcome', username='ann', hx_target='#welcome-msg')").outputs[0]
    assert out['text/plain'].startswith('POST /welcome → 200')
    assert '<code>POST /welcome</code>' in out['text/html'] and '<p>Welcome ann!</p>' in out['text/html']

def test_html_string_is_raw_markup_like_ipython(kernel):
    kernel.ok('from fhnb import *')
    out = kernel.ok("HTML('<b id=answer>forty-two</b>')").outputs[0]
    assert out['text/html'] == '<b id=answer>forty-two</b>'

def test_star_import_is_unchanged_and_HTML_needs_no_test_client():
    "`from fhnb import *` binds the same names; the seed's `HTML` comes from `fhnb.assets`, so a page built with it loads no `HxClient`."
    star = "import json\nfrom fhnb import *\nprint(json.dumps(sorted(k for k in dir() if not k.startswith('_') and k != 'json')))"
    names = json.loads(subprocess.run([sys.executable, '-c', star], capture_output=True, text=True, timeout=60).stdout)
    assert names == ['HTML', 'HxClient', 'NbServer', 'Rows', 'Settings', 'SettingsError', 'current_server', 'load_settings',
                     'preview', 'serve', 'serve_nb'], names
    seed = "import sys\nfrom fhnb import HTML\nprint(HTML.__module__, HTML('<b>x</b>'), 'fhnb.testing' in sys.modules)"
    r = subprocess.run([sys.executable, '-c', seed], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ['fhnb.assets', '<b>x</b>', 'False'], r.stdout + r.stderr

def test_seed_page_with_HTML_served_over_http(kernel):
    "The seed's `return HTML(Body(Main(...)))`, verbatim, through a real server: one whole page."
    kernel.ok(WELCOME)
    port = free_port()
    kernel.ok(textwrap.dedent(f'''
        import importlib.util
        if importlib.util.find_spec('fhnb.server'): serve_nb(app, port={port})
        else:
            import threading, uvicorn
            _srv = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port={port}, log_level='warning'))
            threading.Thread(target=_srv.run, daemon=True).start()'''))
    base = f'http://127.0.0.1:{port}'
    wait_http(base + '/', timeout=30)
    page = httpx.get(base + '/', timeout=10).text
    assert page.count('<html') == 1 and '<main>' in page and 'Hello, World!' in page
    r = httpx.post(base + '/welcome', data=dict(username='bob'), headers={'HX-Request': 'true'}, timeout=10)
    assert r.text.strip() == '<p>Welcome bob!</p>'

ECHOED = ('hx-request', 'hx-current-url', 'hx-target', 'hx-trigger', 'hx-trigger-name', 'hx-source', 'hx-request-type', 'accept', 'content-type')

def echo_app(htmx4:bool):
    "A page whose button posts a form field to `/echo`, which answers the request's HTMX headers and body."
    from fasthtml.common import fast_app, Titled, Form, Input, Button, Div, Pre
    from starlette.requests import Request
    app, rt = fast_app(htmx4=htmx4)
    @rt('/')
    def get(): return Titled('Echo', Form(Input(name='title', id='title', value='milk'),
                                          Button('Send', id='send', name='send'), hx_post='/echo', hx_target='#out', id='f'), Div(id='out'))
    @app.post('/echo')
    async def echo(req: Request):
        form = '&'.join(f'{k}={v}' for k, v in (await req.form()).multi_items())
        return Pre('\n'.join(f'{k}: {req.headers.get(k, "-")}' for k in ECHOED) + f'\nform: {form}', id='echoed')
    return app

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [False, True], ids=['htmx2', 'htmx4'])
def test_hxclient_sends_what_the_browser_sends(page, htmx4, tmp_path):
    "The button's request from htmx in Chromium and `HxClient`'s for the same element carry the same HTMX headers and form encoding."
    import threading, uvicorn
    from fhnb.assets import offline
    from fhnb.testing import HxClient
    app, port = echo_app(htmx4), free_port()
    srv = uvicorn.Server(uvicorn.Config(offline(app), host='127.0.0.1', port=port, log_level='warning'))
    t = threading.Thread(target=srv.run, daemon=True); t.start()
    try:
        base = f'http://127.0.0.1:{port}'
        wait_http(base + '/', timeout=30)
        page.goto(base + '/')
        page.click('#send')
        browser = page.wait_for_selector('#echoed', timeout=10_000).inner_text()
        hx = HxClient(app)
        hx.page('/')
        ours = hx.post('/echo', title='milk', send='', hx_target='#out', hx_trigger='#f').fragment.pre.text
        norm = lambda s: re.sub(r'(hx-current-url: )\S+', r'\1URL', re.sub(r'boundary=\S+', 'boundary=B', s))
        assert norm(ours) == norm(browser), (ours, browser)
    finally:
        srv.should_exit = True; t.join(10)

def rows(db) -> int:
    "How many items the project's own database holds."
    import sqlite3
    with sqlite3.connect(db) as c: return c.execute('select count(*) from items').fetchone()[0]

def test_nbdev_test_leaves_the_projects_data_alone(tmp_path):
    "A notebook that inserts a row: `nbdev-test` runs it on a scratch copy (the project's file keeps its rows); `FHNB_TEST_DATA=real` opts in to the real file."
    from pathlib import Path
    from fastcore.nbio import read_nb, write_nb
    d = tmp_path/'books'
    r = subprocess.run([sys.executable, '-m', 'fhnb', 'new', 'books', '--path', str(d)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    nb = read_nb(d/'nbs'/'00_app.ipynb')
    c = next(c for c in nb.cells if c.source.startswith("#| export\n@rt('/add')"))
    c.source += "\n\nitems.insert(title='Test item')\nassert 'Test item' in [i.title for i in items()]"
    write_nb(nb, d/'nbs'/'00_app.ipynb')
    env = {k: v for k, v in os.environ.items() if k not in ('FHNB_TEST_DATA', 'IN_TEST')}
    nbdev_test = lambda **extra: subprocess.run([str(Path(sys.executable).parent/'nbdev-test')], cwd=d, env={**env, **extra},
                                                capture_output=True, text=True, timeout=300)
    t = nbdev_test(FHNB_TEST_DATA='real')   # opted in: the test's row lands in the project's database
    assert t.returncode == 0, t.stdout + t.stderr
    db = d/'nbs'/'data'/'items.db'   # beside the notebook that defines the app
    assert rows(db) == 1
    for _ in range(2):
        t = nbdev_test()
        assert t.returncode == 0, t.stdout + t.stderr
        assert rows(db) == 1
