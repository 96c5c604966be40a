"""The kernel route: previews whose browser reaches neither the kernel's port nor jupyter-server-proxy carry the page's
requests over the widget's comm. JupyterLab and Notebook 7 in Chromium (fixture `jupyter`: a test taking it runs in both), a real
kernel and server; every browser request to the kernel's port and to /proxy/ is aborted."""
import json, re, time
from pathlib import Path
import pytest
from harness import JupyterLab, open_notebook, run_all_cells, run_cell, write_notebook
from test_htmx4 import frame

def cut_off(page, lab) -> list:
    "Abort every browser request to a loopback port but JupyterLab's and to JupyterLab's /proxy/; the aborted URLs."
    aborted = []
    def abort(r): aborted.append(r.request.url); r.abort()
    page.context.route(re.compile(rf'^http://(127\.0\.0\.1|localhost):(?!{lab.port}/)\d+/'), abort)
    page.context.route(re.compile(rf'^{re.escape(lab.base)}/proxy/'), abort)
    return aborted

def todo_app(htmx4:bool) -> str:
    four = ', htmx4=True' if htmx4 else ''
    return ("from fasthtml.common import *\n"
            f"app, rt, todos, Todo = fast_app('data/todos.db'{four}, todos=dict(id=int, title=str, done=bool, pk='id'))")

def item(): return ("def item(t): return Li(t.title, Button('x', hx_delete=f'/del/{t.id}', hx_target='closest li', hx_swap='outerHTML'))\n\n"
                    "@rt('/del/{id}')\ndef delete(id:int): todos.delete(id); return ''\n\n"
                    "@rt('/add')\ndef post(title: str): return item(todos.insert(title=title, done=False))")

def page_route(title:str) -> str:
    return ("@rt('/')\n"
            f"def get(): return Titled({title!r}, Ul(*[item(t) for t in todos()], id='list'),\n"
            "    Form(Input(name='title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'),\n"
            "    A('About', href='/about'), Form(Input(name='title', id='plain'), Button('Save'), method='post', action='/save'))")

def other_routes() -> str:
    return ("@rt('/about')\ndef get(): return Titled('About', A('Back', href='/'))\n\n"
            "@rt('/save')\ndef post(title: str): todos.insert(title=title, done=False); return Redirect('/')\n\n"
            "@rt('/ping')\ndef get(): return P('pong', id='pong')")

def start(lab, page, htmx4:bool=False):
    "The todo notebook, run with the browser cut off from the kernel's port and the proxy; the first preview's page."
    (lab.root/'data').mkdir()
    write_notebook(lab.root/'todo.ipynb', todo_app(htmx4), item(), page_route('Todos'), other_routes(), "from fhnb import *\nserve_nb(app)", "preview('/')")
    aborted = cut_off(page, lab)
    open_notebook(page, lab, 'todo.ipynb')
    run_all_cells(page)
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")', timeout=30_000)
    return todo, aborted

def add(todo, title:str):
    todo.fill('input[name=title] >> nth=0', title)
    todo.click('button:has-text("Add")')
    todo.wait_for_selector(f'#list li:has-text("{title}")', timeout=10_000)

@pytest.mark.browser
@pytest.mark.parametrize('version', ['2', '4'])
def test_todo_flow_over_the_kernel(jupyter, page, version):
    "No port, no proxy, in JupyterLab and Notebook 7: the page, an Add swap, a delete, refresh on a data and a route change, a component's preview."
    todo, aborted = start(jupyter, page, version == '4')
    assert page.evaluate('window.jupyterapp.name') == jupyter.name
    pv = page.locator('.fhnb-preview').nth(0)
    assert pv.get_attribute('data-route') == 'kernel'
    assert pv.locator('.fhnb-route').inner_text() == 'kernel'   # the toolbar says so
    assert todo.url == 'about:srcdoc'
    assert todo.evaluate('htmx.version').startswith(version)

    todo.evaluate('window.__kept = 1')
    add(todo, 'Buy milk')
    assert todo.evaluate('window.__kept') == 1   # swapped in, not reloaded

    pv.locator('button[title="Requests of this preview"]').click()   # the inspector: the POST, its form, the fragment that came back
    post = pv.locator('.fhnb-req summary', has_text='POST /add').first
    post.wait_for(timeout=10_000)
    post.evaluate('summary => summary.click()')   # in the page: a mouse click at its place can land in the iframe while Notebook 7 still scrolls
    opened = pv.locator('.fhnb-req[open]').first.inner_text()
    assert ' 200 ' in post.inner_text() and 'title = Buy milk' in opened and 'Buy milk' in opened.split('response')[-1], opened

    todo.click('#list li:has-text("Buy milk") button')
    todo.wait_for_selector('#list li:has-text("Buy milk")', state='detached', timeout=10_000)

    run_cell(page, "todos.insert(title='From a cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From a cell")', timeout=10_000)

    run_cell(page, page_route('My todos'), index=2)
    todo.wait_for_selector('h1:has-text("My todos")', timeout=10_000)

    run_cell(page, "Div(Button('Ping', hx_get='/ping', hx_swap='outerHTML'))")
    card = frame(page, 1)
    card.click('button:has-text("Ping")', timeout=20_000)
    card.wait_for_selector('#pong', timeout=10_000)
    assert page.locator('.fhnb-preview').nth(1).get_attribute('data-route') == 'kernel'
    assert not [u for u in aborted if re.search(r'/(add|del/\d+|ping)$', u)], aborted   # no HTMX request even tried the port

@pytest.mark.browser
def test_links_forms_and_redirects_over_the_kernel(jupyter, page):
    "A plain link loads its page; a plain form posts, its redirect is followed, the page lands on `/` with the new row."
    todo, _ = start(jupyter, page)
    pv = page.locator('.fhnb-preview').nth(0)
    todo.click('a:has-text("About")')
    todo.wait_for_selector('h1:has-text("About")', timeout=10_000)
    page.wait_for_function("() => document.querySelector('.fhnb-address').value === '/about'")
    todo.click('a:has-text("Back")')
    todo.fill('#plain', 'Saved plainly')
    todo.click('button:has-text("Save")')
    todo.wait_for_selector('#list li:has-text("Saved plainly")', timeout=10_000)
    assert pv.locator('.fhnb-address').input_value() == '/'

    # a failing handler shows in the error bar, as on the other routes
    run_cell(page, "@rt('/boom')\ndef post(): return 1/0\n\nButton('Boom', hx_post='/boom', id='boom')")
    frame(page, 1).click('#boom', timeout=20_000)
    bar = page.locator('.fhnb-preview').nth(1).locator('.fhnb-error')
    bar.wait_for(state='visible', timeout=10_000)
    assert bar.locator('.fhnb-error-text').inner_text() == 'ZeroDivisionError: division by zero'

@pytest.mark.browser
@pytest.mark.parametrize('socket', ["new WebSocket('ws://' + location.host + '/chat')", "new EventSource('/ticks')"])
def test_sockets_say_they_need_another_route(jupyter, page, socket):
    "A page that opens a WebSocket or an EventSource says, in one line above it, that these need the direct or the proxy route."
    start(jupyter, page)
    run_cell(page, f"@rt('/live')\ndef get(): return Titled('Live', Script({socket!r}))\n\npreview('/live')")
    frame(page, 1).wait_for_selector('h1:has-text("Live")', timeout=20_000)
    note = page.locator('.fhnb-preview').nth(1).locator('.fhnb-note').first
    note.wait_for(timeout=10_000)
    text = note.inner_text()
    assert '\n' not in text.strip() and 'need the direct route or jupyter-server-proxy' in text, text
    assert ('WebSocket' if 'WebSocket' in socket else 'EventSource') in text, text

PNG = bytes.fromhex('89504e470d0a1a0a0000000d4948445200000001000000010806000000'
                    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e5273de70000000049454e44ae426082')   # 1x1 pixel

@pytest.mark.browser
def test_images_in_the_page_and_in_swaps(jupyter, page):
    "The app's own static image shows in the page, and in a fragment a swap adds later."
    (jupyter.root/'dot.png').write_bytes(PNG)   # fast_app serves the notebook's folder's static files
    start(jupyter, page)
    run_cell(page, "@rt('/pic')\ndef get(): return Img(src='/dot.png', id='later')\n\n"
                   "Div(Img(src='/dot.png', id='first'), Button('Show', hx_get='/pic', hx_swap='outerHTML'))")
    f = frame(page, 1)
    f.wait_for_function("() => document.querySelector('#first')?.naturalWidth === 1", timeout=20_000)
    f.click('button:has-text("Show")')
    f.wait_for_function("() => document.querySelector('#later')?.naturalWidth === 1", timeout=10_000)
    assert f.evaluate("document.querySelector('#later').src").startswith('blob:')

@pytest.mark.browser
def test_kernel_restart_says_to_run_the_cell_again(jupyter, page):
    "After a restart the old widget's connection is gone: the preview says to run its cell again, and that brings the page back."
    start(jupyter, page)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    down = page.locator('.fhnb-preview').first.locator('.fhnb-down')
    down.wait_for(state='visible', timeout=30_000)
    assert 'kernel restarted' in down.inner_text() and 'run its cell again' in down.inner_text(), down.inner_text()
    run_all_cells(page)
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")', timeout=30_000)
    add(todo, 'After the restart')
    assert page.locator('.fhnb-preview').first.get_attribute('data-route') == 'kernel'

def comms_over_subshells(lab, how:str):
    "JupyterLab's setting `commsOverSubshells` (`perCommTarget`, its default; `disabled`: widget messages wait for the running cell)."
    f = Path(lab.log.name).parent/'settings'/'@jupyterlab'/'apputils-extension'/'kernels-settings.jupyterlab-settings'
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps({'commsOverSubshells': how}))

def add_while_a_cell_runs(page, todo, seconds:float) -> tuple[float, float]:
    "Click Add while a cell sleeps `seconds`; how long the swap took, and how long the cell still ran after it."
    page.evaluate("(code) => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel; window.__cellEnd = null; "
                  "k.requestExecute({code}).done.then(() => { window.__cellEnd = performance.now(); }); }", f'import time; time.sleep({seconds})')
    time.sleep(0.5)   # the cell is running
    t0 = todo.evaluate('performance.timeOrigin + performance.now()')
    todo.fill('input[name=title] >> nth=0', 'While busy')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("While busy")', timeout=60_000)
    t1 = todo.evaluate('performance.timeOrigin + performance.now()')
    page.wait_for_function('() => window.__cellEnd !== null', timeout=60_000)
    end = page.evaluate('performance.timeOrigin + window.__cellEnd')
    return (t1 - t0) / 1000, (end - t1) / 1000

@pytest.mark.browser
def test_busy_kernel_answers_on_a_subshell(jupyter, page):
    "JupyterLab's and Notebook 7's default with ipykernel 7: widget messages go to a subshell, so a swap lands while a cell still runs."
    todo, _ = start(jupyter, page)
    took, left = add_while_a_cell_runs(page, todo, 4)
    print(f'subshell: the swap took {took*1000:.0f} ms while a cell ran; the cell ran {left:.2f} s more')
    assert left > 0, (took, left)   # the swap landed while the cell ran (how fast: printed above)

@pytest.mark.browser
@pytest.mark.own_lab   # it changes JupyterLab's settings
def test_busy_kernel_without_subshells_says_so(lab, page):
    "Widget messages on the main shell wait for the running cell: the preview says so after 300 ms, and the swap lands after the cell."
    # JupyterLab only: Notebook 7.6 leaves out the plugin that applies `commsOverSubshells`, so there comms always use a subshell
    comms_over_subshells(lab, 'disabled')
    todo, _ = start(lab, page)
    pv = page.locator('.fhnb-preview').nth(0)
    busy = "import pathlib, time\nwhile not pathlib.Path('go').exists(): time.sleep(0.02)"   # runs until the test says go
    page.evaluate("(code) => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.requestExecute({code})", busy)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'", timeout=30_000)
    todo.fill('input[name=title] >> nth=0', 'While busy')
    todo.click('button:has-text("Add")')
    page.wait_for_selector('.fhnb-preview[data-waiting="true"] .fhnb-wait:has-text("when the running cell ends")', timeout=30_000)
    assert todo.locator('#list li:has-text("While busy")').count() == 0   # the cell still runs: the swap waits for it
    (lab.root/'go').write_text('')
    todo.wait_for_selector('#list li:has-text("While busy")', timeout=60_000)
    page.wait_for_selector('.fhnb-preview[data-waiting="false"] >> nth=0', timeout=30_000)
    assert not pv.locator('.fhnb-wait').inner_text()

def test_fhnb_lab_loads_its_extension(tmp_path):
    "`fhnb lab` loads `fhnb.extension` as a Jupyter server extension: Nagle's algorithm off on kernel websockets, the widget's code served."
    from fhnb.cli import lab_command
    ext = next(a for a in lab_command() if a.startswith('--ServerApp.jpserver_extensions='))
    lab = JupyterLab(tmp_path, extra_args=(ext,))
    try: log = Path(lab.log.name).read_text()
    finally: lab.stop()
    assert 'fhnb: kernel websockets send small messages at once (TCP_NODELAY)' in log, log[-2000:]
    assert "fhnb: the preview widget's code at /fhnb/widget/preview.js?v=" in log, log[-2000:]

def ask_bridge(f, messages:list) -> list:
    "Post each of `messages` to the widget from page frame `f` as bridge.js does, bypassing it; each answer's status and text."
    return f.evaluate('''async (messages) => Promise.all(messages.map((m) => new Promise((ok) => {
        const on = (e) => {
            if (!e.data || e.data.fhnb !== 'bridged' || e.data.id !== m.id) return;
            removeEventListener('message', on);
            ok([e.data.status, new TextDecoder().decode(e.data.body)]);
        };
        addEventListener('message', on);
        setTimeout(() => ok([0, 'no answer within 20 s']), 20000);   // a deadline, so that a request left unanswered fails the test
        parent.postMessage({ fhnb: 'bridge', method: 'GET', headers: [], body: null, ...m }, '*');
    })))''', messages)

@pytest.mark.browser
def test_a_page_sending_what_no_browser_sends_gets_an_error_answer(lab, page):
    "A script on the page posts requests bridge.js never makes (a URL beyond Latin-1, a header value beyond it, a header name with a space): "
    "each is answered 400 in one line, and the request inspector shows the line; the page goes on working."
    todo, _ = start(lab, page)
    got = ask_bridge(todo, [dict(id='a1', url='/\u4e2d\u6587'), dict(id='a2', url='/', headers=[['x-a', '\u2615']]),
                            dict(id='a3', url='/', headers=[['bad name', 'v']]), dict(id='a4', url='/', headers=[['x-a', 'v\r\nset-cookie: a=b']])])
    assert [s for s, _ in got] == [400] * 4, got
    assert all(t.startswith('fhnb kernel route: ') and '\n' not in t for _, t in got), got
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    pv.locator('.fhnb-req summary.fhnb-bad', has_text='400').nth(3).wait_for(timeout=10_000)
    shown = pv.locator('.fhnb-inspector').evaluate('e => e.textContent')   # the lines are in the closed entries
    assert "beyond Latin-1" in shown and 'is not an HTTP token' in shown, shown[-2000:]
    add(todo, 'Still working')

ONLY_KERNEL = ("from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n\n@rt('/')\ndef get(): return Titled('Only the kernel route', P('hi'))",
               "serve_nb(app)", "preview('/')", "import time\ntime.sleep(1)   # the kernel is busy with the next cell while the page loads")

@pytest.mark.browser
def test_a_kernel_route_preview_loads_in_20_fresh_runs(lab, page):
    "A notebook whose only preview takes the kernel route (settings.ini proxy = kernel) shows its page in each of 20 runs, "
    "each in a new kernel and a reopened notebook (a fresh page: the widget's code and caches start anew)."
    (lab.root/'settings.ini').write_text('[fhnb]\nproxy = kernel\n')
    write_notebook(lab.root/'only.ipynb', *ONLY_KERNEL)
    failed = []
    for run in range(20):
        open_notebook(page, lab, 'only.ipynb')   # a new kernel: the last run's was shut down below
        run_all_cells(page)
        pv = page.locator('.fhnb-preview').nth(0)
        try:
            frame(page, 0).wait_for_selector('h1:has-text("Only the kernel route")', timeout=30_000)
            assert pv.get_attribute('data-route') == 'kernel'
        except Exception as e:
            failed.append((run, type(e).__name__, pv.get_attribute('data-waiting'), pv.evaluate('e => e.textContent')[-300:]))
            screenshot(page, f'kernel-route-run-{run}')
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")   # the kernel with it
        page.wait_for_function("async (base) => (await (await fetch(base + '/api/sessions')).json()).length === 0", arg=lab.base, timeout=60_000)
    assert not failed, failed

@pytest.mark.browser
def test_a_page_posting_headers_that_are_not_pairs_gets_an_answer(lab, page):
    "Headers that are not a list of [string, string] pairs, posted by a script on the page: each request is answered 400."
    todo, _ = start(lab, page)
    got = ask_bridge(todo, [dict(id='b1', url='/', headers='x-a: 1'), dict(id='b2', url='/', headers=[[1, 2]]), dict(id='b3', url=7)])
    assert [s for s, _ in got] == [400] * 3, got
