"""htmx 4 on an equal footing with htmx 2 in previews, directly and through jupyter-server-proxy: the live example's SSE
counter and WebSocket chat, and the todo app's whole preview flow. JupyterLab in Chromium, real kernels and servers."""
import re, shutil
from pathlib import Path
import pytest
from harness import open_notebook, run_all_cells

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ['direct', 'proxy']

def force_route(page, lab, route:str):
    "For `proxy`, the browser reaches no loopback port but JupyterLab's, so every preview goes through jupyter-server-proxy."
    if route == 'proxy': page.context.route(re.compile(rf'^http://127\.0\.0\.1:(?!{lab.port}/)\d+/'), lambda r: r.abort())

def frame(page, n:int):
    "The `n`th preview's page (a Playwright Frame)."
    page.wait_for_selector(f'.fhnb-preview >> nth={n}', timeout=30_000)
    return page.locator('.fhnb-preview iframe').nth(n).element_handle().content_frame()

def assert_route(page, lab, n:int, route:str):
    "Preview `n` took `route`, and its page came that way."
    pv, url = page.locator('.fhnb-preview').nth(n), frame(page, n).url
    assert pv.get_attribute('data-route') == route, (n, pv.get_attribute('data-route'), url)
    assert url.startswith(f'{lab.base}/proxy/') == (route == 'proxy'), url

def climbs(f, what:str, console:list):
    "The SSE counter of page `f` reaches 2, or fail saying what it shows and what the console said."
    try: f.wait_for_function("() => parseInt(document.querySelector('#count')?.textContent) >= 2", polling=200, timeout=20_000)   # not rAF: paused in an off-screen frame
    except Exception: raise AssertionError(f"{what}: the counter shows {f.inner_text('p')!r}; console: {console[-8:]}") from None

@pytest.mark.browser
@pytest.mark.parametrize('route', ROUTES)
def test_live_ticks_and_chats_on_htmx_2_and_4(lab, page, route):
    "The live example's two apps (htmx 2, htmx 4): in each preview the SSE counter climbs and a chat message comes back over the WebSocket."
    sockets, console = [], []
    page.on('websocket', lambda ws: sockets.append(ws.url))
    page.on('console', lambda m: console.append(m.text))
    force_route(page, lab, route)
    shutil.copy(ROOT/'nbs'/'examples'/'live.ipynb', lab.root)
    open_notebook(page, lab, 'live.ipynb')
    run_all_cells(page)
    for n, version in [(0, '2'), (1, '4')]:
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
    chats = [u for u in sockets if u.endswith('/chat')]
    assert len(set(chats)) == 2, sockets   # one URL per app (a page reloaded by a later cell opens its socket again)
    if route == 'proxy': assert all(re.match(rf'ws://127\.0\.0\.1:{lab.port}/proxy/\d+/chat$', u) for u in chats), chats

def test_live_htmx4_app_under_fhnb_serve(tmp_path):
    "The exported htmx 4 app: its page loads htmx 4's own extensions offline, SSE streams, and the chat answers a message as htmx 4's ws sends it."
    import json, httpx
    from itertools import islice
    from websockets.sync.client import connect
    from harness import serving
    with serving('fhnb.examples.live:app4', '--port', '0', cwd=tmp_path) as (url, _):
        page = httpx.get(url + '/').text
        assert all(f'/_fhnb/static/vendor/htmx.org@4.0.0/dist/{f}' in page for f in ('htmx.min.js', 'ext/hx-ws.min.js', 'ext/hx-sse.min.js')), page[:2000]
        with httpx.stream('GET', url + '/ticks', headers={'Accept': 'text/html, text/event-stream'}, timeout=10) as r:
            assert list(islice((l for l in r.iter_lines() if l), 2)) == ['data: <span id="count">0</span>', 'data: <span id="count">1</span>']
        with connect(url.replace('http://', 'ws://') + '/chat', origin=url) as ws:
            ws.send(json.dumps({'msg': 'hi', 'headers': {'HX-Request': 'true'}}))   # htmx 4 puts the headers beside the form's values
            assert '<li>hi</li>' in ws.recv(timeout=10)
            assert 'hx-swap-oob="true"' in ws.recv(timeout=10)   # the emptied input, swapped in by id
