"""htmx 4 on an equal footing with htmx 2 in previews, directly and through jupyter-server-proxy: the live example's SSE
counter and WebSocket chat, and the todo app's whole preview flow. JupyterLab in Chromium, real kernels and servers."""
import json, re, shutil
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit
import httpx, pytest
from websockets.sync.client import connect
from harness import frame, open_notebook, run_all_cells, run_cell, serving, todo_cells, todo_routes, write_notebook

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ['direct', 'proxy']

def force_route(page, lab, route:str):
    "For `proxy`, the browser reaches no loopback port but JupyterLab's, so every preview goes through jupyter-server-proxy."
    if route == 'proxy': page.context.route(re.compile(rf'^http://(127\.0\.0\.1|localhost):(?!{lab.port}/)\d+/'), lambda r: r.abort())

def assert_route(page, lab, n:int, route:str):
    "Preview `n` took `route`, and its page came that way."
    pv, url = page.locator('.fhnb-preview').nth(n), frame(page, n).url
    assert pv.get_attribute('data-route') == route, (n, pv.get_attribute('data-route'), url)
    assert url.startswith(f'{lab.base}/proxy/') == (route == 'proxy'), url

def socket_url(page_url:str, path:str) -> str:
    "The ws:// URL of `path` for a page at `page_url`, under its proxy prefix if it has one."
    u = urlsplit(page_url)
    m = re.match(r'/proxy/\d+', u.path)
    return f"ws://{u.netloc}{m.group(0) if m else ''}{path}"

def climbs(f, what:str, console:list):
    "The SSE counter of page `f` reaches 2, or fail saying what it shows and what the console said."
    try: f.wait_for_function("() => parseInt(document.querySelector('#count')?.textContent) >= 2", polling=200, timeout=20_000)   # not rAF: paused in an off-screen frame
    except Exception: raise AssertionError(f"{what}: the counter shows {f.inner_text('p')!r}; console: {console[-8:]}") from None

@pytest.mark.browser
@pytest.mark.parametrize('route', ROUTES)
@pytest.mark.parametrize('version', ['2', '4'])
def test_live_ticks_and_chats(lab, page, version, route):
    "The live example's app on htmx `version` (its first preview: htmx 2, its second: htmx 4): the SSE counter climbs and a chat message comes back over the WebSocket."
    n = ['2', '4'].index(version)
    sockets, console = [], []
    page.on('websocket', lambda ws: sockets.append(ws.url))
    page.on('console', lambda m: console.append(m.text))
    force_route(page, lab, route)
    shutil.copy(ROOT/'nbs'/'examples'/'live.ipynb', lab.root)
    open_notebook(page, lab, 'live.ipynb')
    run_all_cells(page)
    f = frame(page, n)
    f.wait_for_selector('#msg')
    assert f.evaluate('htmx.version').startswith(version)
    assert_route(page, lab, n, route)
    climbs(f, f'htmx {version}', console)
    said = f'hello from htmx {version}'
    f.fill('#msg', said)
    f.press('#msg', 'Enter')
    f.wait_for_selector(f'#messages li:has-text("{said}")', timeout=10_000)
    assert f.input_value('#msg') == ''   # the sender's input came back emptied, swapped in by id
    assert socket_url(f.url, '/chat') in sockets, sockets   # the page's own socket, under its route's prefix

def test_live_htmx4_app_under_fhnb_serve(tmp_path):
    "The exported htmx 4 app: its page loads htmx 4's own extensions offline, SSE streams, and the chat answers a message as htmx 4's ws sends it."
    with serving('fhnb.examples.live:app4', '--port', '0', cwd=tmp_path) as (url, _):
        page = httpx.get(url + '/').text
        assert all(f'/_fhnb/static/vendor/htmx.org@4.0.0/dist/{f}' in page for f in ('htmx.min.js', 'ext/hx-ws.min.js', 'ext/hx-sse.min.js')), page[:2000]
        with httpx.stream('GET', url + '/ticks', headers={'Accept': 'text/html, text/event-stream'}, timeout=10) as r:
            assert list(islice((l for l in r.iter_lines() if l), 2)) == ['data: <span id="count">0</span>', 'data: <span id="count">1</span>']
        with connect(url.replace('http://', 'ws://') + '/chat', origin=url) as ws:
            ws.send(json.dumps({'msg': 'hi', 'headers': {'HX-Request': 'true'}}))   # htmx 4 puts the headers beside the form's values
            assert '<li>hi</li>' in ws.recv(timeout=10)
            assert 'hx-swap-oob="true"' in ws.recv(timeout=10)   # the emptied input, swapped in by id

# ---------- the todo app's preview flow, on htmx 2 and htmx 4, direct and through the proxy ----------

@pytest.mark.browser
@pytest.mark.parametrize('route', ROUTES)
@pytest.mark.parametrize('version', ['2', '4'])
def test_todo_preview_flow(lab, page, version, route):
    "The preview's main flow on htmx `version` by `route`: the page, an Add swap, a routes cell re-run, a row from a cell, the inspector, the error bar."
    (lab.root/'data').mkdir()
    write_notebook(lab.root/'todo.ipynb', *todo_cells(version == '4'))
    force_route(page, lab, route)
    open_notebook(page, lab, 'todo.ipynb')
    run_all_cells(page)

    # the page shows, on the htmx asked for, by the route asked for
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")')
    assert todo.evaluate('htmx.version').startswith(version)
    assert_route(page, lab, 0, route)

    # type and press Add: an HTMX swap inside the iframe, not a reload
    todo.evaluate('window.__kept = 1')
    todo.fill('input[name=title]', 'Buy milk')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("Buy milk")')
    assert todo.evaluate('window.__kept') == 1

    # re-running the routes cell shows the new page
    run_cell(page, todo_routes('My todos'), index=1)
    todo.wait_for_selector('h1:has-text("My todos")', timeout=10_000)
    assert todo.inner_text('#list').count('Buy milk') == 1

    # a row inserted from a cell appears
    run_cell(page, "todos.insert(title='From a cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From a cell")', timeout=10_000)

    # the inspector lists the POST with 200, the form it sent and the fragment that came back
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    post = pv.locator('.fhnb-req summary', has_text='POST /add')
    post.first.wait_for(timeout=10_000)
    assert ' 200 ' in post.first.inner_text()
    post.first.click()
    opened = pv.locator('.fhnb-req[open]').first.inner_text()
    assert 'title = Buy milk' in opened and '<li>Buy milk</li>' in opened, opened

    # a failing handler shows in the error bar, and the server lives on
    run_cell(page, "@rt('/boom')\ndef post(): return 1/0\n\nButton('Boom', hx_post='/boom', id='boom')")
    boom = frame(page, 1)
    assert boom.evaluate('htmx.version').startswith(version)
    assert_route(page, lab, 1, route)
    boom.click('#boom')
    bar = page.locator('.fhnb-preview').nth(1).locator('.fhnb-error')
    bar.wait_for(state='visible', timeout=10_000)
    assert bar.locator('.fhnb-error-text').inner_text() == 'ZeroDivisionError: division by zero'
    assert 'in post: def post(): return 1/0' in bar.locator('.fhnb-error-where').inner_text()
    todo.fill('input[name=title]', 'After the error')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("After the error")')
