"""Inline previews: the display and refresh hooks in a real kernel; the widget in a real JupyterLab in Chromium."""
import json, re, urllib.request
from html.parser import HTMLParser
import nbformat
from pathlib import Path
from urllib.parse import urlsplit
import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, JupyterLab, free_port, write_notebook, open_notebook, run_all_cells, run_cell, cell_output, screenshot, frame

APP = ("from fasthtml.common import *\n"
       "app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, pk='id'))")
ROUTES = ("@rt('/')\n"
          "def get(): return Titled('Todos', Ul(*[Li(t.title) for t in todos()], id='list'),\n"
          "    Form(Input(name='title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'))\n\n"
          "@rt('/add')\n"
          "def post(title: str): return Li(todos.insert(title=title, done=False).title)")
SERVE = "from fhnb import *\nserve_nb(app)"
PREVIEW = "preview('/')"
CARD = ("@rt('/ping')\n"
        "def get(): return Button('Pong!', id='pong')\n\n"
        "Div(H2('A card'), Button('Ping', hx_get='/ping', hx_swap='outerHTML'))")
TODO_CELLS = [APP, ROUTES, SERVE, PREVIEW, CARD]
WIDGET = 'application/vnd.jupyter.widget-view+json'

def todo_project(root:Path, port:int|None=None, name='todo.ipynb') -> str:
    "DESIGN.md's Todo app as a notebook in `root` (optionally with the kernel's server on a fixed `port`)."
    (root/'data').mkdir(exist_ok=True)
    if port: (root/'settings.ini').write_text(f'[fhnb]\nport = {port}\n')
    write_notebook(root/name, *TODO_CELLS)
    return name

# ---------- the kernel side: no browser ----------

def test_ft_value_displays_as_live_preview(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}')
    r = kernel.ok(CARD)
    data = r.outputs[-1]
    assert WIDGET in data, data.keys()
    assert '<button>Ping</button>' in data['text/html'] and 'hx-get' not in data['text/html']   # the snapshot is inert
    assert data['text/plain'].startswith("Preview('/_fhnb/c/")

def test_ft_value_without_an_app_shows_as_fasthtml_shows_it(kernel):
    data = kernel.ok("from fhnb import *\nfrom fasthtml.common import Div\nDiv('plain')").outputs[-1]
    assert WIDGET not in data and 'plain' in data['text/plain']
    assert kernel.ok("print(current_server())").stdout.strip() == 'None'   # no server started for it

def test_page_preview_carries_a_static_snapshot(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}\ntodos.insert(title="Milk", done=False)')
    data = kernel.ok(PREVIEW).outputs[-1]
    assert WIDGET in data and '<li>Milk</li>' in data['text/html'] and '<script' not in data['text/html']

def test_cells_that_change_routes_or_data_bump_previews(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}\np = preview("/")')
    bump = lambda: int(kernel.ok('print(p.bump)').stdout)
    assert bump() == 0
    kernel.ok("@rt('/')\ndef get(): return P('changed')")
    assert bump() == 1
    kernel.ok("todos.insert(title='from a cell', done=False)")
    assert bump() == 2
    # a form a cell posts to the server writes through the server thread's own connection: previews reload too
    kernel.ok("import urllib.request, urllib.parse\n"
              "urllib.request.urlopen(urllib.request.Request(current_server().url + '/add', data=b'title=x', headers={'HX-Request': 'true'})).read()")
    assert bump() == 3
    kernel.ok("y = 1")
    assert bump() == 3

def test_hxclient_write_from_a_cell_refreshes_previews(kernel):
    "`HxClient(app).post` runs the handler on another thread, with its own SQLite connection (issue 13.8)."
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}\np = preview("/")')
    kernel.ok("HxClient(app).post('/add', title='via HxClient')")
    assert kernel.ok('print(p.bump, [t.title for t in todos()])').stdout.strip() == "1 ['via HxClient']"

def test_refreshed_previews_retake_their_snapshot(kernel):
    "What a notebook saved later shows for a preview: the page as it last was, not as the preview cell first saw it."
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}\np = preview("/")\ncard = preview(Div("card"))')
    kernel.ok("todos.insert(title='Later row', done=False)")
    kernel.ok("import time\nfor _ in range(200):\n    if 'Later row' in p.snapshot: break\n    time.sleep(0.05)")
    r = kernel.ok("print('Later row' in p.snapshot, p.bump, card.bump, '<div>card</div>' in card.snapshot)")
    assert r.stdout.split() == ['True', '1', '1', 'True']

HOSTILE = ('<h1 onclick="steal()">Hi</h1><scr<script>ipt>alert(1)</scr</script>ipt><img src=x onerror=alert(2)>'
           '<a href="javascript:alert(3)">j</a><svg onload=alert(4)></svg><iframe srcdoc="<script>alert(5)</script>"></iframe>'
           '<button hx-on:click="alert(6)" style="background:url(http://x)">b</button>')

def assert_inert(markup:str):
    "As a browser parses `markup`: no script-bearing element, no event handler, style, `hx-*` or `javascript:` URL."
    found = []
    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in ('script', 'iframe', 'svg', 'object', 'embed', 'style', 'link', 'meta', 'base'): found.append(tag)
            found.extend(f'{tag} {k}={v}' for k, v in attrs if k.startswith(('on', 'hx-', 'style', 'srcdoc')) or 'javascript:' in (v or '').lower())
    Tags().feed(markup)
    assert not found, (found, markup)

def test_snapshots_are_inert_whatever_the_app_answers(kernel):
    kernel.ok(f"{APP}\n@rt('/evil')\ndef get(): return NotStr({HOSTILE!r})\n{SERVE}")
    page = kernel.ok("preview('/evil')").outputs[-1]['text/html']
    assert '<h1>Hi</h1>' in page and '<button>b</button>' in page and 'snapshot' in page
    assert_inert(page)
    comp = kernel.ok(f"Div(NotStr({HOSTILE!r}))").outputs[-1]['text/html']
    assert '<h1>Hi</h1>' in comp
    assert_inert(comp)

def test_snapshot_error_text_is_escaped(kernel):
    kernel.ok(f"{APP}\n@rt('/boom')\ndef get(a:str=''): raise ValueError('<img src=x onerror=alert(1)>')\n{SERVE}")
    snap = kernel.ok("preview('/boom?a=<1>&b=2'.replace('<', '%3C').replace('>', '%3E'))").outputs[-1]['text/html']
    assert 'no snapshot: HTTP Error 500' in snap and '/boom?a=%3C1%3E&amp;b=2' in snap, snap
    assert_inert(snap)

@pytest.mark.parametrize('target,bad', [('/x y', "' '"), ('/a"b', "'\"'"), ('/50%', "'%'"), ('/<b>', "'<'")])
def test_invalid_path_is_one_line_naming_it(kernel, target, bad):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}')
    r = kernel.run(f"preview({target!r})")
    assert r.error.startswith(f"ValueError: preview: target {target!r} has {bad}, not allowed in a URL;"), r.error
    assert '\n' not in r.error

def test_fhnb_errors_point_at_the_users_line(kernel):
    "IPython hides fhnb's frames between the cell's call and the raising line (`__tracebackhide__`)."
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}')
    tb = re.sub(r'\x1b\[[0-9;]*m', '', kernel.run("x = 1\npreview('/x y', height=300)").traceback)
    assert "preview('/x y', height=300)" in tb
    assert 'skipping hidden 1 frame' in tb and tb.count('fhnb/preview.py') == 1, tb   # IPython always shows the raising line itself

def test_a_cell_that_defines_a_route_and_previews_loads_once(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}')
    kernel.ok("@rt('/new')\ndef get(): return P('new')\nq = preview('/new')")
    assert kernel.ok('print(q.bump)').stdout.strip() == '0'

def test_rerun_of_fast_app_cell_swaps_the_served_app(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}\np = preview("/")')
    kernel.ok(f'{APP}\n@rt("/")\ndef get(): return P("a new app")')
    r = kernel.ok('print(current_server().app is app, p.bump)')
    assert r.stdout.split() == ['True', '1']

def test_reimport_keeps_one_pair_of_hooks(kernel):
    "The cell hooks live in `fhnb.kernel`: reloading the preview and kernel modules and enabling again keeps one pair."
    r = kernel.ok("import importlib, fhnb, fhnb.kernel, fhnb.preview\nimportlib.reload(fhnb.preview)\n"
                  "importlib.reload(fhnb.kernel).enable()\nimportlib.reload(fhnb.kernel).enable()\nip = get_ipython()\n"
                  "print(*[sum(getattr(f, '__module__', '').startswith('fhnb') for f in ip.events.callbacks[e]) for e in ('pre_run_cell', 'post_run_cell')])")
    assert r.stdout.split() == ['1', '1']

def test_bad_target_is_one_line(kernel):
    kernel.ok(f'{APP}\n{ROUTES}\n{SERVE}')
    assert kernel.run("preview(42)").error == 'TypeError: preview: target is a int; pass a path such as "/" or a component (FT)'

# ---------- JupyterLab in Chromium ----------

def record_requests(page) -> list[str]:
    "Every URL the page and its frames request, in order."
    urls = []
    page.on('request', lambda r: urls.append(r.url))
    page.on('websocket', lambda ws: urls.append(ws.url))
    return urls

def block_direct(page, port:int):
    "The browser cannot reach the kernel's port directly, under either loopback name (the preview uses the one JupyterLab does not)."
    for host in ('127.0.0.1', 'localhost'): page.context.route(f'http://{host}:{port}/**', lambda r: r.abort())

def off_machine(urls) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme in ('http', 'https', 'ws', 'wss') and urlsplit(u).hostname not in ('127.0.0.1', 'localhost')]

STYLE_PROBE = '''() => {
    const props = ['font-family', 'font-size', 'color', 'background-color', 'line-height', 'margin-top', 'padding-top', 'border-top-width'];
    const sels = ['body', '.jp-LabShell', '.jp-Notebook', '.jp-Cell .jp-InputArea-editor', '.jp-Cell-inputWrapper', '.jp-Toolbar',
                  '.jp-ToolbarButtonComponent',
                  '.jp-DirListing-item', '.jp-DirListing-itemText', '.lm-MenuBar-itemLabel', '.jp-StatusBar-Widget'];
    return Object.fromEntries(sels.map(s => { const e = document.querySelector(s); if (!e) return [s, null];
        const cs = getComputedStyle(e); return [s, Object.fromEntries(props.map(p => [p, cs.getPropertyValue(p)]))]; })); }'''

COUNT_LISTENERS = '''if (window === window.top) { window.__fhnbMessageListeners = 0;
  const add = window.addEventListener, rm = window.removeEventListener;
  window.addEventListener = function (t, f, o) { if (t === 'message') window.__fhnbMessageListeners++; return add.call(this, t, f, o); };
  window.removeEventListener = function (t, f, o) { if (t === 'message') window.__fhnbMessageListeners--; return rm.call(this, t, f, o); }; }'''

def show_todos(page, lab, port:int|None=None):
    "The Todo notebook opened and run in JupyterLab: the frame of its page's preview, once the page shows."
    open_notebook(page, lab, todo_project(lab.root, port))
    run_all_cells(page)
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")')
    return todo

def add_todo(todo, title:str):
    "Type `title` and press Add in the Todo page `todo`; wait for its row."
    todo.fill('input[name=title]', title)
    todo.click('button:has-text("Add")')
    todo.wait_for_selector(f'#list li:has-text("{title}")')

@pytest.mark.browser
def test_a_styled_app_leaves_jupyterlab_looking_the_same(lab, page):
    "Pico in the app's page stays in its iframe: JupyterLab's own fonts, colours and spacing are what they were."
    open_notebook(page, lab, todo_project(lab.root))
    before = page.evaluate(STYLE_PROBE)
    run_all_cells(page)
    add_todo(frame(page, 0), 'Buy milk')
    assert page.evaluate(STYLE_PROBE) == before
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    pv.locator('.fhnb-req summary', has_text='POST /add').first.click()
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); }")
    page.locator('.jp-Notebook .jp-Cell').nth(3).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    screenshot(page, 'preview-todos')   # the README's picture

@pytest.mark.browser
def test_pages_swaps_and_components_request_nothing_off_the_machine(lab, page):
    "The page, an HTMX swap, a component's request: every URL the browser asks for is on 127.0.0.1 (htmx and Pico are vendored)."
    urls = record_requests(page)
    add_todo(show_todos(page, lab), 'Buy milk')
    card = frame(page, 1)
    card.click('button:has-text("Ping")')
    card.wait_for_selector('#pong:has-text("Pong!")')
    assert urls and not off_machine(urls), off_machine(urls)

@pytest.mark.browser
def test_refresh_does_not_run_the_preview_cell_again(lab, page):
    "A routes cell re-run and a row written from a cell refresh the preview in the browser: the preview cell's prompt number stays."
    todo = show_todos(page, lab)
    prompt = lambda: page.locator('.jp-Notebook .jp-Cell').nth(3).locator('.jp-InputPrompt').inner_text()
    before = prompt()
    run_cell(page, ROUTES.replace("Titled('Todos'", "Titled('My todos'"), index=1)
    todo.wait_for_selector('h1:has-text("My todos")', timeout=10_000)
    run_cell(page, "todos.insert(title='From a cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From a cell")', timeout=10_000)
    assert prompt() == before

@pytest.mark.browser
def test_toolbar_sets_the_width_and_goes_to_a_typed_path(lab, page):
    "The phone button makes the page 390 px wide; Enter in the address bar goes to its path (JupyterLab does not take the key)."
    show_todos(page, lab)
    pv, width = page.locator('.fhnb-preview').nth(0), "document.querySelector('.fhnb-preview iframe').getBoundingClientRect().width"
    pv.locator('button[data-viewport="phone"]').click()
    page.wait_for_function(f"() => {width} === 390")
    pv.locator('button[data-viewport="full"]').click()
    page.wait_for_function(f"() => {width} > 390")
    pv.locator('.fhnb-address').fill('/ping')
    pv.locator('.fhnb-address').press('Enter')
    frame(page, 0).wait_for_selector('#pong')

@pytest.mark.browser
def test_inspector_shows_a_failing_handlers_traceback(lab, page):
    "A POST whose handler raises: its entry in the inspector says 500 and opens on the Python traceback."
    show_todos(page, lab)
    run_cell(page, "@rt('/boom')\ndef post(): return 1/0\n\nButton('Boom', hx_post='/boom', id='boom')")
    boom = page.locator('.fhnb-preview').nth(2)
    frame(page, 2).click('#boom')
    boom.locator('button[title="Requests of this preview"]').click()
    bad = boom.locator('.fhnb-req summary', has_text='POST /boom')
    bad.first.wait_for(timeout=10_000)
    assert ' 500 ' in bad.first.inner_text()
    bad.first.click()
    tb = boom.locator('.fhnb-req[open] pre.fhnb-bad').first
    tb.wait_for(timeout=5_000)
    assert 'Traceback' in tb.inner_text() and 'ZeroDivisionError' in tb.inner_text()

@pytest.mark.browser
def test_an_opened_request_stays_open_as_more_come(lab, page):
    "The inspector redraws its list on each new request: an entry the user opened stays open."
    todo = show_todos(page, lab)
    add_todo(todo, 'First')
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    pv.locator('.fhnb-req summary', has_text='POST /add').first.evaluate('summary => summary.click()')   # in the page: see test_bridge
    add_todo(todo, 'Second')
    pv.locator('.fhnb-req summary', has_text='POST /add').nth(1).wait_for(timeout=10_000)   # both listed: the list was redrawn
    assert pv.locator('.fhnb-req[open]').count() == 1 and 'title = First' in pv.locator('.fhnb-req[open]').inner_text()

@pytest.mark.browser
def test_rerunning_a_preview_cell_leaves_no_listeners_or_widgets_behind(lab, page):
    "Three re-runs of the preview cell: the page has as many message listeners as before, and the kernel two live previews."
    page.add_init_script(COUNT_LISTENERS)
    show_todos(page, lab)
    n_listeners = page.evaluate('window.__fhnbMessageListeners')
    for _ in range(3): run_cell(page, PREVIEW, index=3)
    frame(page, 0).wait_for_selector('h1:has-text("Todos")')
    assert page.evaluate('window.__fhnbMessageListeners') == n_listeners
    i = run_cell(page, 'from fhnb.preview import live_previews\nprint(len(live_previews()))')
    assert cell_output(page, i) == '2'   # the page and the card

def learned_address(page) -> str:
    "Where the kernel now knows JupyterLab serves the widget's code (its first preview's front end told it), once it does."
    ask = 'from fhnb.preview import _widget_code, live_previews\nprint(_widget_code["url"])'
    i = run_cell(page, ask)
    for _ in range(20):
        if '/fhnb/widget/preview.js?v=' in cell_output(page, i): break
        page.wait_for_timeout(250); run_cell(page, ask, index=i)
    served = cell_output(page, i)
    assert re.fullmatch(r'http://127\.0\.0\.1:\d+/fhnb/widget/preview\.js\?v=[0-9a-f]{16}', served), served
    return served

@pytest.mark.browser
def test_later_previews_import_the_widget_code_once(lab, page):
    """The first previews bring the widget's code in their models and tell the kernel where JupyterLab serves it
    (`fhnb.extension`); later previews give that address, and the page imports the code once. Saved, the notebook keeps the code itself."""
    imports = []
    page.on('request', lambda r: imports.append(r.url) if '/fhnb/widget/preview.js' in r.url and r.resource_type == 'script' else None)
    show_todos(page, lab)
    served = learned_address(page)
    for n in (2, 3):
        run_cell(page, PREVIEW)
        add_todo(frame(page, n), f'From preview {n}')   # the page works, HTMX and all
    i = run_cell(page, "print(sorted('address' if p._esm == _widget_code['url'] else 'code' for p in live_previews()))")
    assert cell_output(page, i) == "['address', 'address', 'code', 'code']"   # the page and the card came first
    assert imports == [served], imports   # once, for all the previews that give the address
    page.wait_for_function("() => [...(globalThis.__fhnbCodeTexts || new Map()).values()].some((t) => t)")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    state = nbformat.read(lab.root/'todo.ipynb', 4).metadata['widgets']['application/vnd.jupyter.widget-state+json']['state']
    saved = [m['state']['_esm'] for m in state.values() if m['state'].get('_anywidget_id') == 'fhnb.preview.Preview']
    assert len(saved) == 4 and all('export default' in e and not e.startswith('http') for e in saved), [e[:60] for e in saved]

@pytest.mark.browser
def test_a_notebook_saved_after_a_restart_keeps_the_widget_code(lab, page):
    "A preview that gave the address, saved once its kernel restarted (its model gone): the notebook keeps the code itself."
    show_todos(page, lab)
    learned_address(page)
    run_cell(page, PREVIEW)
    frame(page, 2).wait_for_selector('h1:has-text("Todos")')
    page.wait_for_function("() => [...(globalThis.__fhnbCodeTexts || new Map()).values()].some((t) => t)")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    state = nbformat.read(lab.root/'todo.ipynb', 4).metadata['widgets']['application/vnd.jupyter.widget-state+json']['state']
    saved = [m['state']['_esm'] for m in state.values() if m['state'].get('_anywidget_id') == 'fhnb.preview.Preview']
    assert len(saved) == 3 and all('export default' in e and not e.startswith('http') for e in saved), [e[:60] for e in saved]

SESSION_APP = ("from fasthtml.common import *\napp, rt = fast_app()\n@rt('/')\ndef get(session):\n"
               "    session['n'] = session.get('n', 0) + 1\n    return P(f\"visits {session['n']}\", id='n')")

@pytest.mark.browser
def test_sessions_last_in_jupyterlab_at_localhost(lab, page):
    "JupyterLab at localhost (the address `jupyter lab` opens): the page is at 127.0.0.1, another site, and its session cookie is kept (partitioned)."
    write_notebook(lab.root/'visits.ipynb', SESSION_APP, SERVE, PREVIEW)
    open_notebook(page, lab, 'visits.ipynb', host='localhost')
    run_all_cells(page)
    visits = frame(page, 0)
    visits.wait_for_selector('#n:has-text("visits 1")')
    assert visits.url.startswith('http://127.0.0.1:')
    page.locator('.fhnb-preview button[title="Reload"]').click()
    frame(page, 0).wait_for_selector('#n:has-text("visits 2")', timeout=10_000)   # the same session: its cookie came back

@pytest.mark.browser
def test_through_jupyter_server_proxy(lab, page):
    port = free_port()
    urls = record_requests(page)
    block_direct(page, port)   # the browser cannot reach the kernel's port
    todo = show_todos(page, lab, port)
    pv = page.locator('.fhnb-preview').nth(0)
    assert pv.get_attribute('data-route') == 'proxy'
    assert todo.url.startswith(f'{lab.base}/proxy/{port}/')
    todo.fill('input[name=title]', 'Via the proxy')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("Via the proxy")')
    card = frame(page, 1)
    card.click('button:has-text("Ping")')
    card.wait_for_selector('#pong')
    screenshot(page, 'preview-proxy')
    direct = [u for u in urls if u.startswith(f'http://127.0.0.1:{port}/')]
    assert not [u for u in direct if u.endswith(('/add', '/ping'))], direct   # only the first try of the page went direct
    assert not off_machine(urls), off_machine(urls)

@pytest.mark.browser
def test_no_port_no_proxy_takes_the_kernel_route(tmp_path, page):
    "jupyter-server-proxy absent and the kernel's port unreachable: the preview comes over the kernel route, and its toolbar says so."
    lab = JupyterLab(tmp_path, extra_args=('--ServerApp.jpserver_extensions=jupyter_server_proxy=False',))
    try:
        port = free_port()
        block_direct(page, port)
        open_notebook(page, lab, todo_project(lab.root, port))
        run_all_cells(page)
        frame(page, 0).wait_for_selector('h1:has-text("Todos")', timeout=30_000)
        pv = page.locator('.fhnb-preview').first
        assert pv.get_attribute('data-route') == 'kernel' and pv.locator('.fhnb-route').inner_text() == 'kernel'
    finally: lab.stop()

def scroll_away_and_back(page):
    "Scroll the notebook far below the previews, then back to the top (JupyterLab's windowing may detach cells meanwhile)."
    run_cell(page, "from IPython.display import HTML\nHTML('<div style=\"height:4000px\">spacer</div>')")
    page.evaluate("() => { const s = document.querySelector('.jp-WindowedPanel-outer'); s.scrollTop = s.scrollHeight; }")
    page.wait_for_timeout(500)
    away = page.evaluate("() => [...document.querySelectorAll('.fhnb-preview')].filter(e => e.isConnected && e.getClientRects().length).length")
    page.evaluate("() => { document.querySelector('.jp-WindowedPanel-outer').scrollTop = 0; }")
    page.wait_for_timeout(500)
    return away   # previews shown while scrolled away

@pytest.mark.browser
@pytest.mark.own_lab   # it changes JupyterLab's settings
def test_preview_survives_full_windowing(lab, page):
    "With `windowingMode: full` JupyterLab hides off-screen cells of a long notebook; the preview comes back working."
    req = urllib.request.Request(f'{lab.base}/lab/api/settings/@jupyterlab/notebook-extension:tracker', method='PUT',
                                 data=json.dumps({'raw': json.dumps({'windowingMode': 'full'})}).encode(),
                                 headers={'Authorization': f'token {lab.token}', 'Content-Type': 'application/json'})
    urllib.request.urlopen(req).read()
    name = todo_project(lab.root)
    nb = nbformat.read(lab.root/name, 4)
    nb.cells += [nbformat.v4.new_markdown_cell(f'## Notes {i}\n\n' + 'Some text.\n\n' * 5) for i in range(40)]
    nbformat.write(nb, lab.root/name)
    open_notebook(page, lab, name)
    run_all_cells(page)
    page.evaluate("() => { document.querySelector('.jp-WindowedPanel-outer').scrollTop = 0; }")
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")')
    todo.evaluate('window.__kept = 1')
    assert scroll_away_and_back(page) == 0   # the previews really were out of the page meanwhile
    todo = frame(page, 0)
    assert todo.evaluate('window.__kept') == 1   # the same page, not a reload
    todo.fill('input[name=title]', 'After scrolling')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("After scrolling")')
    assert page.locator('.fhnb-preview iframe').nth(0).bounding_box()['height'] > 150

    # a fixed-height preview keeps its scroll position when a cell refreshes it
    run_cell(page, "preview('/', height=150)")
    page.evaluate("() => { const s = document.querySelector('.jp-WindowedPanel-outer'); s.scrollTop = s.scrollHeight; }")
    fixed = frame(page, 2)
    fixed.wait_for_selector('#list')
    page.locator('.fhnb-preview').nth(2).scroll_into_view_if_needed()   # Chrome sends no scroll events from off-screen frames
    fixed.evaluate('window.scrollTo(0, 80)')
    page.wait_for_timeout(300)
    # run the insert without adding a cell, so the notebook does not scroll the preview away meanwhile
    page.evaluate('''() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
                     .requestExecute({code: "todos.insert(title='Scrolled', done=False)"}).done''')
    fixed.wait_for_selector('#list li:has-text("Scrolled")')
    fixed.wait_for_function('window.scrollY > 60', timeout=5_000)

@pytest.mark.browser
def test_remote_jupyterlab_never_tries_the_port(tmp_path, chromium):
    "JupyterLab reached by a name that is not loopback (JupyterHub, Binder): the widget goes straight through the proxy."
    lab = JupyterLab(tmp_path, extra_args=('--ServerApp.allow_remote_access=True',))
    try:
        browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, '--host-resolver-rules=MAP lab.test 127.0.0.1'])
        try:
            lab.url = lambda path: f'http://lab.test:{lab.port}/lab/tree/{path}?token={lab.token}'
            port = free_port()
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            urls = record_requests(page)
            open_notebook(page, lab, todo_project(lab.root, port))
            run_all_cells(page)
            todo = frame(page, 0)
            todo.wait_for_selector('h1:has-text("Todos")')
            assert page.locator('.fhnb-preview').nth(0).get_attribute('data-route') == 'proxy'
            todo.fill('input[name=title]', 'Remote')
            todo.click('button:has-text("Add")')
            todo.wait_for_selector('#list li:has-text("Remote")')
            assert not [u for u in urls if f':{port}/' in u and not u.startswith(f'http://lab.test:{lab.port}/proxy/{port}/')]
        finally: browser.close()
    finally: lab.stop()

# ---------- what the preview tells the user (issue 13 items 4-6) ----------

def error_bar(page, n:int):
    return page.locator('.fhnb-preview').nth(n).locator('.fhnb-error')

@pytest.mark.browser
def test_failing_request_shows_in_the_error_bar(lab, page):
    show_todos(page, lab)
    run_cell(page, "@rt('/boom')\ndef post(n:int=1): return n/0\n\n"
                   "Div(Style('.fhnb-error, body > * { display: none !important }'), Button('Boom', hx_post='/boom', id='boom'))")
    bar = error_bar(page, 2)
    assert bar.is_hidden()
    click = lambda: frame(page, 2).eval_on_selector('#boom', 'b => b.click()')   # the app's CSS hides its own page: the bar is outside it
    click()
    bar.wait_for(state='visible', timeout=10_000)
    assert bar.locator('.fhnb-error-text').inner_text() == 'ZeroDivisionError: division by zero'
    assert re.search(r'Cell In\[\d+\], line 2, in post: def post\(n:int=1\): return n/0$', bar.locator('.fhnb-error-where').inner_text())
    assert bar.locator('.fhnb-error-tb').is_hidden()
    bar.locator('button[title="Full traceback"]').click()
    assert 'Traceback (most recent call last)' in bar.locator('.fhnb-error-tb').inner_text()
    bar.locator('button[title="Dismiss"]').click()
    assert bar.is_hidden()
    click()
    bar.wait_for(state='visible', timeout=10_000)
    # fixed in a cell: the refresh reloads the preview, and the bar goes
    run_cell(page, "@rt('/boom')\ndef post(): return P('fine', id='fine')")
    bar.wait_for(state='hidden', timeout=10_000)
    click()
    frame(page, 2).wait_for_selector('#fine', state='attached')
    assert bar.is_hidden()

    # a page load that fails (no HTMX): the 500 page shows the traceback, and so does the bar
    run_cell(page, "@rt('/bad')\ndef get(): raise ValueError('no such page')\n\npreview('/bad')")
    bar = error_bar(page, 3)
    bar.wait_for(state='visible', timeout=10_000)
    assert bar.locator('.fhnb-error-text').inner_text() == 'ValueError: no such page'
    screenshot(page, 'preview-error-bar')

@pytest.mark.browser
def test_preview_says_the_kernel_restarted_and_comes_back(lab, page):
    port = free_port()
    todo = show_todos(page, lab, port)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    pv = page.locator('.fhnb-preview').first
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=30_000)
    down = pv.locator('.fhnb-down')
    assert down.is_visible() and 'kernel restarted' in down.inner_text()
    screenshot(page, 'preview-kernel-restarted')
    run_cell(page, f'{APP}\n{ROUTES}\n{SERVE}')   # the notebook's cells again (in a new cell: after a restart the execution counts start over)
    page.wait_for_selector('.fhnb-preview[data-server="up"] >> nth=0', timeout=30_000)
    assert down.is_hidden()
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")')
    todo.fill('input[name=title]', 'After the restart')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("After the restart")')

@pytest.mark.browser
def test_preview_says_the_kernel_died_and_comes_back(lab, page):
    port = free_port()
    show_todos(page, lab, port)
    page.evaluate("""() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
                     .requestExecute({code: 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'})""")
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=30_000)
    page.wait_for_selector('.fhnb-preview .fhnb-down:has-text("kernel died") >> nth=0', timeout=30_000)   # the line follows the state
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'", timeout=60_000)
    run_cell(page, f'{APP}\n{ROUTES}\n{SERVE}')
    page.wait_for_selector('.fhnb-preview[data-server="up"] >> nth=0', timeout=30_000)
    frame(page, 0).wait_for_selector('h1:has-text("Todos")')

@pytest.mark.browser
@pytest.mark.parametrize('route', ['direct', 'proxy'])
def test_preview_says_the_server_stopped(lab, page, route):
    "A request to a stopped server covers the page with one line, on either route; `serve_nb` brings it back, working."
    port = free_port()
    if route == 'proxy': block_direct(page, port)   # the browser cannot reach the kernel's port
    todo = show_todos(page, lab, port)
    assert page.locator('.fhnb-preview').first.get_attribute('data-route') == route
    run_cell(page, "current_server().stop()")
    todo.fill('input[name=title]', 'Nobody answers')
    todo.click('button:has-text("Add")')
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=15_000)
    assert 'server is not answering' in page.locator('.fhnb-preview .fhnb-down').first.inner_text()
    run_cell(page, "serve_nb(app)")
    page.wait_for_selector('.fhnb-preview[data-server="up"] >> nth=0', timeout=30_000)
    add_todo(frame(page, 0), 'Back again')

@pytest.mark.browser
def test_reopened_notebook_shows_the_snapshot(lab, page):
    name = todo_project(lab.root)
    open_notebook(page, lab, name)
    run_all_cells(page)
    frame(page, 0).wait_for_selector('h1:has-text("Todos")')
    run_cell(page, "todos.insert(title='Saved row', done=False)")
    frame(page, 0).wait_for_selector('#list li:has-text("Saved row")')
    run_cell(page, PREVIEW, index=3)   # its snapshot now has the row
    frame(page, 0).wait_for_selector('#list li:has-text("Saved row")')
    # saved after a restart: the previews' models are dead by then, and ipywidgets leaves them out of its own state
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    saved = nbformat.read(lab.root/name, 4)
    state = saved.metadata['widgets']['application/vnd.jupyter.widget-state+json']['state']
    assert sum(bool(m['state'].get('fhnb_saved')) for m in state.values()) == 2   # the page preview and the card

    page.reload()
    open_notebook(page, lab, name)
    snaps = page.locator('.fhnb-preview.fhnb-saved')
    snaps.nth(1).wait_for(timeout=30_000)
    assert snaps.count() == 2
    shown = lambda i: snaps.nth(i).evaluate("e => e.querySelector('.fhnb-snapshot-box').shadowRoot.textContent")
    assert 'Saved row' in shown(0) and 'snapshot: run the cell for a live preview' in shown(0)
    assert 'A card' in shown(1)
    assert snaps.nth(0).get_by_text('Saved row').is_visible()
    assert page.get_by_text('model not found').count() == 0
    assert page.locator('.fhnb-saved iframe, .fhnb-saved script').count() == 0
    screenshot(page, 'preview-reopened-snapshot')

@pytest.mark.browser
def test_error_bar_with_htmx_4(lab, page):
    write_notebook(lab.root/'four.ipynb', "from fasthtml.common import *\napp, rt = fast_app(htmx4=True)\n\n"
                   "@rt('/')\ndef get(): return Titled('Four', Button('Boom', hx_post='/boom', id='boom'), Div(id='out'))\n\n"
                   "@rt('/boom')\ndef post(): return 1/0", SERVE, PREVIEW)
    open_notebook(page, lab, 'four.ipynb')
    run_all_cells(page)
    four = frame(page, 0)
    four.wait_for_selector('h1:has-text("Four")')
    assert four.evaluate('htmx.version').startswith('4')
    four.click('#boom')
    bar = error_bar(page, 0)
    bar.wait_for(state='visible', timeout=10_000)
    assert bar.locator('.fhnb-error-text').inner_text() == 'ZeroDivisionError: division by zero'
    assert 'in post: def post(): return 1/0' in bar.locator('.fhnb-error-where').inner_text()
    pv = page.locator('.fhnb-preview').first
    pv.locator('button[title="Requests of this preview"]').click()
    pv.locator('.fhnb-req summary', has_text='POST /boom').first.wait_for(timeout=10_000)   # its own request, by the header frame.js added

@pytest.mark.browser
def test_hxclient_write_from_a_cell_reloads_the_preview(lab, page):
    show_todos(page, lab)
    run_cell(page, "HxClient(app).post('/add', title='Via HxClient')")
    frame(page, 0).wait_for_selector('#list li:has-text("Via HxClient")', timeout=10_000)
