"""Several apps in one notebook, and previews across a kernel restart: each preview keeps the app it was made for, and
the same cells take the same ports again. A real kernel told the cell ids JupyterLab sends; JupyterLab in Chromium."""
import time, urllib.request
import pytest
from harness import CellResult, frame, open_notebook, run_all_cells, run_cell, write_notebook

def in_cell(kernel, code:str, cell:str, timeout:float=60) -> CellResult:
    "Run `code` in `kernel` as JupyterLab runs the cell with id `cell` (its id travels in the request's metadata)."
    kc, res = kernel.kc, CellResult()
    content = dict(code=code, silent=False, store_history=True, user_expressions={}, allow_stdin=False, stop_on_error=True)
    msg = kc.session.msg('execute_request', content, metadata={'cellId': cell})
    kc.shell_channel.send(msg)
    end = time.monotonic() + timeout
    while True:
        m = kc.get_iopub_msg(timeout=max(0.1, end - time.monotonic()))
        if m['parent_header'].get('msg_id') != msg['header']['msg_id']: continue
        t, c = m['msg_type'], m['content']
        if t == 'stream': setattr(res, c['name'], getattr(res, c['name']) + c['text'])
        elif t in ('display_data', 'execute_result'): res.outputs.append(c['data'])
        elif t == 'error': raise AssertionError(f"{c['ename']}: {c['evalue']}\n" + '\n'.join(c['traceback']))
        elif t == 'status' and c['execution_state'] == 'idle': return res

def app_cell(title:str) -> str:
    return ("app, rt = fast_app()\n"
            f"@rt('/')\ndef get(): return Titled({title!r}, Button('Ping', hx_get='/ping', hx_swap='outerHTML', id='b'))\n"
            f"@rt('/ping')\ndef get(): return P('pong from {title}', id='b')")

def page(url:str) -> str: return urllib.request.urlopen(url, timeout=10).read().decode()

def test_each_cell_app_keeps_its_port(kernel):
    in_cell(kernel, 'from fasthtml.common import *\nfrom fhnb import *', 'imports')
    in_cell(kernel, app_cell('First') + '\nsrv = serve_nb(app)\np1 = preview("/")', 'one')
    in_cell(kernel, app_cell('Second') + '\nserve_nb(app)\np2 = preview("/")', 'two')
    port1, port2 = map(int, in_cell(kernel, 'print(p1.port, p2.port)', 'check').stdout.split())
    assert port1 != port2
    assert 'First' in page(f'http://127.0.0.1:{port1}/') and 'pong from First' in page(f'http://127.0.0.1:{port1}/ping')
    assert 'Second' in page(f'http://127.0.0.1:{port2}/')
    # re-running the first cell replaces the first app on its own port; the second app is untouched
    in_cell(kernel, app_cell('First, again') + '\nserve_nb(app)\np1 = preview("/")', 'one')
    assert int(in_cell(kernel, 'print(p1.port)', 'check').stdout) == port1
    assert 'First, again' in page(f'http://127.0.0.1:{port1}/') and 'Second' in page(f'http://127.0.0.1:{port2}/')
    # an app made by one cell and served by the next is still the first cell's
    in_cell(kernel, app_cell('Third'), 'three')
    in_cell(kernel, 'serve_nb(app)\np3 = preview("/")', 'serve-three')
    in_cell(kernel, app_cell('Third, again'), 'three')
    ports = in_cell(kernel, 'print(p3.port, current_server().port)', 'check').stdout.split()
    assert ports[0] == ports[1] and 'Third, again' in page(f'http://127.0.0.1:{ports[0]}/')

def test_apps_no_preview_needs_are_released(kernel):
    in_cell(kernel, 'from fasthtml.common import *\nfrom fhnb import *', 'imports')
    in_cell(kernel, app_cell('First') + '\nserve_nb(app)', 'one')   # served, but no preview shows it
    in_cell(kernel, app_cell('Second') + '\nserve_nb(app)\np2 = preview("/")', 'two')
    assert in_cell(kernel, 'print(len(current_server().apps))', 'check').stdout.strip() == '1'

def test_same_cells_same_ports_after_a_restart(kernel, tmp_path, monkeypatch):
    cells = [('imports', 'from fasthtml.common import *\nfrom fhnb import *'), ('one', app_cell('First') + '\nserve_nb(app)\np1 = preview("/")'),
             ('two', app_cell('Second') + '\nserve_nb(app)\np2 = preview("/")')]
    for cid, code in cells: in_cell(kernel, code, cid)
    before = in_cell(kernel, 'print(p1.port, p2.port)', 'check').stdout
    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    for cid, code in cells: in_cell(kernel, code, cid)
    assert in_cell(kernel, 'print(p1.port, p2.port)', 'check').stdout == before

SEED_TWO_APPS = [
    'from fasthtml.common import *\nfrom fhnb import *',
    app_cell('First') + '\nserve()',
    app_cell('Second') + '\nserve()',
]

@pytest.mark.browser
def test_two_apps_in_one_notebook(lab, page):
    "Seed-style: two cells each build an app and `serve()` it; each preview shows, and calls, its own app."
    write_notebook(lab.root/'two.ipynb', *SEED_TWO_APPS)
    open_notebook(page, lab, 'two.ipynb')
    run_all_cells(page)
    first, second = frame(page, 0), frame(page, 1)
    first.wait_for_selector('h1:has-text("First")')
    second.wait_for_selector('h1:has-text("Second")')
    first.click('#b')
    first.wait_for_selector('p#b:has-text("pong from First")', timeout=10_000)
    second.click('#b')
    second.wait_for_selector('p#b:has-text("pong from Second")', timeout=10_000)
    run_cell(page, app_cell('First, again') + '\nserve()', index=1)   # re-run the first app's cell with a new heading
    frame(page, 0).wait_for_selector('h1:has-text("First, again")', timeout=15_000)
    assert frame(page, 1).inner_text('h1') == 'Second'

@pytest.mark.browser
def test_previews_come_back_after_a_restart(lab, page):
    "No port in settings: after a restart, re-running the app's cells brings a preview from before back, on the same port."
    write_notebook(lab.root/'back.ipynb', SEED_TWO_APPS[0], app_cell('Todos'), 'serve_nb(app)', "preview('/')")
    open_notebook(page, lab, 'back.ipynb')
    run_all_cells(page)
    frame(page, 0).wait_for_selector('h1:has-text("Todos")')
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_selector('.fhnb-preview[data-server="down"] >> nth=0', timeout=30_000)
    run_cell(page, '0')   # a new cell first: the counts start over, and the notebook's own cells then get new ones
    for i, src in enumerate((SEED_TWO_APPS[0], app_cell('Todos'), 'serve_nb(app)')): run_cell(page, src, index=i)   # the same cells, not the preview's
    page.wait_for_selector('.fhnb-preview[data-server="up"] >> nth=0', timeout=30_000)
    f = frame(page, 0)
    f.wait_for_selector('h1:has-text("Todos")')
    f.click('#b')
    f.wait_for_selector('p#b:has-text("pong from Todos")', timeout=10_000)
