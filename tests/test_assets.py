"""Offline assets through real uvicorn on 127.0.0.1: pages load only local copies, and the copies are served right."""
import asyncio, hashlib, importlib.util, json, shutil, subprocess, sys, threading, time, zipfile
from pathlib import Path
import httpx, pytest, uvicorn
from fasthtml.common import fast_app, Button, Titled, P
from fasthtml.core import htmx_exts
from starlette.responses import JSONResponse, Response, StreamingResponse
from harness import free_port, wait_http
from fhnb.assets import STATIC_PATH, HtmlRewrite, asset_urls, localize, manifest, offline

root = Path(__file__).resolve().parent.parent
immutable = 'public, max-age=31536000, immutable'
by_local = {f'{STATIC_PATH}/vendor/{a["path"]}': a for a in manifest()['assets']}

class Swap:
    "The ASGI app a test is serving, swappable between tests: one uvicorn for the whole module."
    app = None
    async def __call__(self, scope, receive, send):
        if scope['type'] == 'lifespan': return await _lifespan(receive, send)
        await self.app(scope, receive, send)

async def _lifespan(receive, send):
    while True:
        msg = await receive()
        await send({'type': msg['type'] + '.complete'})
        if msg['type'] == 'lifespan.shutdown': return

@pytest.fixture(scope='module')
def server():
    "Real uvicorn on a free loopback port serving `Swap`; yields (swap, httpx client); stopped after the module."
    swap, port = Swap(), free_port()
    srv = uvicorn.Server(uvicorn.Config(swap, host='127.0.0.1', port=port, log_level='warning'))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    wait_http(f'http://127.0.0.1:{port}/', timeout=30)
    with httpx.Client(base_url=f'http://127.0.0.1:{port}', timeout=10) as client: yield swap, client
    srv.should_exit = True
    t.join(10)
    assert not t.is_alive()

def page_app(**kw):
    app, rt = fast_app(**kw)
    @rt('/')
    def get(): return Titled('Offline', P('hello'))
    return app

def check_served(client, url):
    "`url` answers 200 with the right type, cache policy and (for a vendored file) the manifest's bytes."
    r = client.get(url)
    assert r.status_code == 200, url
    want = 'text/javascript' if url.endswith('.js') else 'text/css'
    assert r.headers['content-type'].split(';')[0] == want, (url, r.headers['content-type'])
    assert url in by_local, f'{url} is local but not vendored'
    assert r.headers['cache-control'] == immutable, url
    assert hashlib.sha256(r.content).hexdigest() == by_local[url]['sha256'], url

cases = [dict(), dict(htmx4=True), dict(pico=False), *[dict(exts=name) for name in htmx_exts]]

@pytest.mark.parametrize('kw', cases, ids=lambda kw: ','.join(f'{k}={v}' for k, v in kw.items()) or 'defaults')
def test_page_loads_nothing_off_machine(server, kw):
    swap, client = server
    swap.app = offline(page_app(**kw))
    r = client.get('/')
    assert r.status_code == 200 and int(r.headers['content-length']) == len(r.content)
    urls = asset_urls(r.text)
    assert urls and [u for u in urls if not u.startswith(STATIC_PATH + '/')] == []
    for a in manifest()['assets']: assert a['url'] not in r.text
    if 'exts' in kw:
        ext = next(local for local, a in by_local.items() if a['url'] == htmx_exts[kw['exts']])
        assert ext in urls
    for u in urls: check_served(client, u)

def test_static_revalidates(server):
    swap, client = server
    swap.app = offline(page_app())
    url = f'{STATIC_PATH}/vendor/htmx.org@2.0.7/dist/htmx.js'
    etag = client.get(url).headers['etag']
    r = client.get(url, headers={'if-none-match': etag})
    assert r.status_code == 304 and r.headers['cache-control'] == immutable
    assert client.get(f'{STATIC_PATH}/vendor/nothing.js').status_code == 404
    assert client.get(f'{STATIC_PATH}/vendor/manifest.json').json()['assets'] == manifest()['assets']

def test_proxy_prefix(server):
    "Behind jupyter-server-proxy the local URLs carry the proxy's prefix."
    swap, client = server
    swap.app = offline(page_app())
    pre = '/user/me/proxy/8123'
    urls = asset_urls(client.get('/', headers={'x-forwarded-prefix': pre}).text)
    assert urls and all(u.startswith(pre + STATIC_PATH + '/') for u in urls)
    urls = asset_urls(client.get('/', headers={'x-forwarded-prefix': '/x"><script>'}).text)
    assert all(u.startswith(STATIC_PATH + '/') for u in urls)

def test_rewrite_keeps_status_and_headers(server):
    swap, client = server
    async def app(scope, receive, send):
        r = Response('<p>old</p><p>old</p>', status_code=201, media_type='text/html',
                     headers={'x-keep': 'yes', 'set-cookie': 'a=1'})
        await r(scope, receive, send)
    swap.app = HtmlRewrite(app, lambda html: html.replace('old', 'brand new'))
    r = client.get('/')
    assert (r.status_code, r.text, r.headers['x-keep'], r.headers['set-cookie']) == (201, '<p>brand new</p><p>brand new</p>', 'yes', 'a=1')
    assert int(r.headers['content-length']) == len(r.content)
    h = client.head('/')
    assert h.status_code == 201 and h.content == b''

def test_streaming_and_other_types_pass_through(server):
    "A streamed HTML response reaches the client chunk by chunk, unchanged; JSON is untouched."
    swap, client = server
    release = threading.Event()
    async def gen():
        yield '<p>old first</p>'
        while not release.is_set(): await asyncio.sleep(0.01)
        yield '<p>old second</p>'
    async def app(scope, receive, send):
        r = (JSONResponse({'v': 'old'}) if scope['path'] == '/json' else StreamingResponse(gen(), media_type='text/html'))
        await r(scope, receive, send)
    swap.app = HtmlRewrite(app, lambda html: html.replace('old', 'new'))
    assert client.get('/json').json() == {'v': 'old'}
    with client.stream('GET', '/stream') as r:
        chunks = r.iter_raw()
        assert next(chunks) == b'<p>old first</p>'   # arrived before the generator finished: not buffered
        release.set()
        assert b''.join(chunks) == b'<p>old second</p>'

def test_manifest_covers_installed_fasthtml():
    "Every CDN URL the installed python-fasthtml can load is vendored (else: make vendor SNAPSHOTS=DIR ARGS=--update)."
    spec = importlib.util.spec_from_file_location('vendor_script', root/'scripts'/'vendor.py')
    vendor = importlib.util.module_from_spec(spec); spec.loader.exec_module(vendor)
    urls, version = vendor.cdn_urls()
    assert sorted(set(urls) - {a['url'] for a in manifest()['assets']}) == []
    for a in manifest()['assets']: assert a['licence'] and (root/'fhnb'/'static'/'vendor'/a['licence_file']).is_file()

def test_first_serve_says_nothing(kernel):
    "In a kernel, the first serve of a FastHTML app prints no warning or notice: every file its headers load is vendored."
    r = kernel.ok('from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n'
                  "@rt('/')\ndef get(): return Titled('Hi', P('hi'))\nsrv = serve_nb(app)")
    assert (r.stdout, r.stderr) == ('', '')
    kernel.ok('srv.stop()')

def test_repository_files_are_pinned():
    "surreal and fasthtml.js, which npm does not have, are pinned to a commit of their repository, with their licence."
    repo = {a['name']: a for a in manifest()['assets'] if 'repository' in a}
    assert sorted(repo) == ['fasthtml-js', 'surreal']
    for a in repo.values():
        assert len(a['commit']) == 40 and a['licence'] and a['path'].startswith(f"{a['name']}@{a['version']}/")
        assert (root/'fhnb'/'static'/'vendor'/a['licence_file']).is_file()

def test_wheel_holds_static_files(tmp_path):
    "A wheel built from the project carries every vendored file, licence and the manifest, and the config enabling its Jupyter server extension."
    src = tmp_path/'src'
    src.mkdir()
    for f in ('pyproject.toml', 'README.md'): shutil.copy(root/f, src)
    shutil.copytree(root/'fhnb', src/'fhnb', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(root/'jupyter-config', src/'jupyter-config')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', str(src), '-w', str(tmp_path/'dist')],
                   check=True, capture_output=True, timeout=300)
    names = set(zipfile.ZipFile(next((tmp_path/'dist').glob('fhnb-*.whl'))).namelist())
    m = manifest()
    want = {'fhnb/static/vendor/manifest.json', *(f'fhnb/static/vendor/{a[k]}' for a in m['assets'] for k in ('path', 'licence_file'))}
    assert sorted(want - names) == []
    # the server config that enables fhnb's server extension where pip puts `etc/jupyter` (the environment's prefix)
    assert any(n.endswith('.data/data/etc/jupyter/jupyter_server_config.d/fhnb.json') for n in names), sorted(n for n in names if '.data/' in n)

def test_kernel_server_pages_are_offline(kernel):
    "The kernel's own server (`serve_nb`) serves every `exts=` page and the defaults with local assets only."
    if importlib.util.find_spec('fhnb.server') is None: pytest.skip('fhnb.server is not written yet')
    kernel.ok('from fasthtml.common import *\nfrom fhnb import serve_nb\n'
              "def mk(**kw):\n    app, rt = fast_app(**kw)\n    rt('/')(lambda: Titled('Offline', P('hi')))\n    return app\n"
              'srv = serve_nb(mk(), port=0)')
    url = kernel.ok('print(srv.url)').stdout.strip()
    with httpx.Client(base_url=url, timeout=10) as client:
        for kw in cases:
            kernel.ok(f'serve_nb(mk(**{kw!r}))')
            page = client.get('/').text
            urls = asset_urls(page)
            assert urls and [u for u in urls if not u.startswith(STATIC_PATH + '/')] == [], kw
            for u in urls: check_served(client, u)
    kernel.ok('srv.stop()')

@pytest.mark.browser
def test_browser_runs_htmx_offline(server, page):
    "In Chromium an offline page's htmx works and every request stays on 127.0.0.1."
    swap, client = server
    app, rt = fast_app(exts='remove-me')
    @rt('/')
    def get(): return Titled('Offline', Button('Ping', hx_get='/ping', hx_swap='outerHTML', id='b'))
    @rt('/ping')
    def get(): return P('pong', id='b')
    swap.app = offline(app)
    hosts = []
    page.on('request', lambda r: hosts.append(httpx.URL(r.url).host))
    page.goto(str(client.base_url) + '/')
    page.click('#b')
    page.wait_for_selector('p#b:has-text("pong")', timeout=10_000)
    assert page.evaluate('htmx.version') == '2.0.7'
    assert page.evaluate('[typeof me, typeof any, typeof proc_htmx]') == ['function', 'function', 'function']   # surreal, fasthtml.js
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('system-ui')   # Pico's
    assert hosts and set(hosts) == {'127.0.0.1'}

# fasthtml's script helpers (fasthtml.js): each loads its library from a CDN, by `src`/`href` or by an inline module's `import`
from fasthtml.js import MarkdownJS, KatexMarkdownJS, HighlightJS, SortableJS, MermaidJS
from fasthtml.common import Div, Pre, Code, Ul, Li
from urllib.parse import urljoin
from fasthtml.core import flat_xt
import re

helpers = {'MarkdownJS': lambda: MarkdownJS(), 'KatexMarkdownJS': lambda: KatexMarkdownJS(sel='.math'),
           'HighlightJS': lambda: HighlightJS(langs=['python', 'javascript', 'css'], light='github', dark='github-dark'),
           'SortableJS': lambda: SortableJS(), 'MermaidJS': lambda: MermaidJS()}
_named = re.compile(r'''(?:src|href)="([^"]+)"|\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']''')
_css_url = re.compile(r'''url\(\s*["']?([^"')]+)["']?\s*\)''')

def names(text):
    "Every URL `text` (a page, a script or a stylesheet) names for the browser to load"
    return [next(g for g in m.groups() if g) for m in _named.finditer(text)] + _css_url.findall(text)

def crawl(client, urls):
    "Fetch `urls` and every file they load in turn (a module's relative imports, a stylesheet's `url()`s): {url: status}"
    seen, todo = {}, list(urls)
    while todo:
        u = todo.pop()
        if u in seen or u.startswith('data:'): continue
        r = client.get(u)
        seen[u] = r.status_code
        if r.status_code == 200 and u.endswith(('.js', '.mjs', '.css')):
            found = _css_url.findall(r.text) if u.endswith('.css') else [n for n in names(r.text) if n.startswith(('./', '../'))]
            todo += [urljoin(u, n) for n in found if not n.startswith(('data:', '#'))]
    return seen

def helper_app(*hdrs, **kw):
    app, rt = fast_app(hdrs=hdrs, **kw)
    @rt('/')
    def get(): return Titled('Helpers', Div('*hello* **world**', cls='marked'), Div(r'Euler: $e^{i\pi}+1=0$', cls='math'),
                             Pre(Code('def f(x): return x + 1', cls='language-python')), Div('graph TD; A-->B', cls='language-mermaid'),
                             Ul(Li('one', id='one'), Li('two', id='two'), Li('three', id='three'), cls='sortable'))
    return app

@pytest.mark.parametrize('helper', list(helpers))
def test_helper_pages_name_only_local_urls(server, helper):
    "A page with each of fasthtml's script helpers, served offline, names only local URLs, and they (and all they load) answer 200."
    swap, client = server
    swap.app = offline(helper_app(*flat_xt(helpers[helper]())))
    page = client.get('/').text
    named = names(page)
    off = [n for n in named if httpx.URL(urljoin('http://127.0.0.1/', n)).host != '127.0.0.1']   # the canonical link is the page's own
    assert off == [] and named
    loaded = crawl(client, [n for n in named if n.startswith(STATIC_PATH + '/')])
    assert {u: s for u, s in loaded.items() if s != 200} == {}
    if helper == 'KatexMarkdownJS': assert any(u.endswith('.woff2') for u in loaded)          # its fonts, named by its CSS
    if helper == 'MermaidJS': assert sum('/chunks/' in u for u in loaded) > 10               # its chunks, imported by its module

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [False, True], ids=['htmx2', 'htmx4'])
def test_browser_renders_helpers_offline(server, page, htmx4):
    "In Chromium with every request off loopback aborted, the five helpers render: markdown, math, highlighting, a diagram, a sortable list."
    swap, client = server
    swap.app = offline(helper_app(*flat_xt([f() for f in helpers.values()]), htmx4=htmx4))
    off = []
    def only_loopback(route):
        if httpx.URL(route.request.url).host == '127.0.0.1': return route.continue_()
        off.append(route.request.url); route.abort()
    page.route('**/*', only_loopback)
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(str(client.base_url) + '/')
    page.wait_for_selector('.marked em:has-text("hello")', timeout=20_000)
    page.wait_for_selector('.math .katex', timeout=20_000)
    page.wait_for_selector('pre code.language-python.hljs span.hljs-keyword', timeout=20_000)
    page.wait_for_selector('.language-mermaid svg', timeout=20_000)
    page.wait_for_function("[...document.querySelectorAll('.sortable')].every(e => Object.keys(e).some(k => k.startsWith('Sortable')))", timeout=20_000)
    assert page.evaluate("document.fonts.check('1em KaTeX_Main')") and page.evaluate("[...document.fonts].some(f => f.family.includes('KaTeX') && f.status == 'loaded')")
    assert (off, errors) == ([], [])

def test_kernel_server_serves_helper_files(kernel):
    "The kernel's own server (`serve_nb`) serves a page with all five helpers naming only local URLs, and every file they load."
    kernel.ok('from fasthtml.common import *\nfrom fasthtml.js import *\nfrom fhnb import serve_nb\n'
              "app, rt = fast_app(hdrs=(MarkdownJS(), *KatexMarkdownJS(sel='.math'), *HighlightJS(langs=['python', 'sql']), SortableJS(), MermaidJS()))\n"
              "rt('/')(lambda: Titled('Helpers', Div('*hi*', cls='marked')))\n"
              'srv = serve_nb(app, port=0)')
    url = kernel.ok('print(srv.url)').stdout.strip()
    with httpx.Client(base_url=url, timeout=10) as client:
        named = names(client.get('/').text)
        assert [n for n in named if httpx.URL(urljoin(url, n)).host != '127.0.0.1'] == []
        loaded = crawl(client, [n for n in named if n.startswith(STATIC_PATH + '/')])
    assert {u: s for u, s in loaded.items() if s != 200} == {} and len(loaded) > 100   # Mermaid's chunks, KaTeX's fonts
    kernel.ok('srv.stop()')
