"""Safe by default (issue 12): the attacks a web page (or a lying client) can make on the kernel's server and on `fhnb serve`,
each against a real ipykernel or a real `fhnb serve` process, over real HTTP on 127.0.0.1 with forged headers."""
from __future__ import annotations
import json, re, socket, subprocess, sys, textwrap, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import httpx, pytest
from harness import Kernel, free_port, serving as fhnb_serving

APP = '''
from fasthtml.common import *
from fasthtml.core import cors_allow
from fhnb import *
import json, time
app, rt = fast_app()
writes = []
@rt('/secret')
def get(): return P('secret')
@app.route('/w', methods=['POST', 'PUT', 'PATCH', 'DELETE', 'QUERY', 'PROPFIND', 'FOO'])
async def w(req): writes.append(req.method); return P('written')
@app.ws('/echo')
async def echo(msg:str, send): await send(msg)
@rt('/who')
def get(req): return json.dumps(dict(client=req.client.host, scheme=req.url.scheme, url=str(req.url),
                                     forwarded={k: v for k, v in req.headers.items() if 'forwarded' in k}))
srv = serve_nb(app)
print(json.dumps(srv.url))
'''
FOREIGN = ['http://evil.example', 'http://127.0.0.1:{other}', 'https://127.0.0.1:{port}', 'http://localhost:{other}', 'null']

@pytest.fixture(scope='module')
def served(tmp_path_factory):
    "A real kernel serving APP: (kernel, url, port)."
    k = Kernel(cwd=tmp_path_factory.mktemp('guard'))
    url = json.loads(k.ok(APP).stdout.strip().splitlines()[-1])
    yield k, url, int(url.rsplit(':', 1)[1])
    k.shutdown()

def writes(k) -> list: return json.loads(k.ok('print(json.dumps(writes))').stdout)

def origin(o:str, port:int) -> str: return o.format(port=port, other=port + 1 if port < 65535 else port - 1)

def raw(port:int, head:str) -> tuple[int, bytes]:
    "Send `head` (a request head, CRLFs added) on a raw socket; the status and the whole answer."
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(head.strip().replace('\n', '\r\n').encode() + b'\r\nConnection: close\r\n\r\n')
        data = b''
        while chunk := s.recv(65536): data += chunk
    return int(data.split(b' ', 2)[1]), data

def acao(r) -> list[str]: return [k for k in r.headers if k.lower().startswith('access-control-')]

# --- No cross-site reads ------------------------------------------------------------------------------

@pytest.mark.parametrize('foreign', FOREIGN)
@pytest.mark.parametrize('method', ['GET', 'HEAD', 'OPTIONS', 'POST', 'QUERY'])
def test_no_cors_header_admits_a_foreign_origin(served, method, foreign):
    k, url, port = served
    o = origin(foreign, port)
    hdrs = {'origin': o, 'cookie': 'session_=x'}
    if method == 'OPTIONS': hdrs |= {'access-control-request-method': 'POST', 'access-control-request-headers': 'hx-request'}
    r = httpx.request(method, url + ('/secret' if method in ('GET', 'HEAD', 'OPTIONS') else '/w'), headers=hdrs)
    assert acao(r) == [], (r.status_code, dict(r.headers))
    if method in ('POST', 'QUERY'): assert r.status_code == 403

def test_same_origin_keeps_the_apps_cors_headers(served):
    k, url, port = served
    assert k.ok('print(any("CORS" in repr(m) for m in app.user_middleware))').stdout.strip() == 'True'   # FastHTML's, in a notebook
    r = httpx.get(url + '/secret', headers={'origin': url})
    assert r.status_code == 200 and r.headers.get('access-control-allow-origin') == url

# --- Writes by allowlist ------------------------------------------------------------------------------

PROVENANCE = {
    'foreign origin': {'origin': 'http://evil.example'},
    'other port': {'origin': 'http://127.0.0.1:{other}'},
    'https, same host and port': {'origin': 'https://127.0.0.1:{port}'},
    'null origin': {'origin': 'null'},
    'cross-site, no origin': {'sec-fetch-site': 'cross-site'},
    'same-site, no origin': {'sec-fetch-site': 'same-site'},
    'foreign referer only': {'referer': 'http://evil.example/attack.html'},
}

@pytest.mark.parametrize('method', ['POST', 'PUT', 'PATCH', 'DELETE', 'QUERY', 'PROPFIND', 'FOO'])
@pytest.mark.parametrize('how', PROVENANCE)
def test_foreign_writes_are_refused(served, method, how):
    k, url, port = served
    before = writes(k)
    r = httpx.request(method, url + '/w', headers={h: origin(v, port) for h, v in PROVENANCE[how].items()})
    if method == 'FOO': assert r.status_code in (400, 403), r.text   # uvicorn's parser refuses methods it does not know first
    else: assert r.status_code == 403 and '\n' not in r.text and method in r.text, r.text
    assert writes(k) == before

@pytest.mark.parametrize('hdrs', [{'origin': '{url}'}, {'origin': 'http://localhost:{port}'}, {},
                                  {'sec-fetch-site': 'same-origin', 'referer': '{url}/page'}])
def test_own_writes_pass(served, hdrs):
    k, url, port = served
    r = httpx.request('PROPFIND', url + '/w', headers={h: v.format(url=url, port=port) for h, v in hdrs.items()})
    assert r.status_code == 200 and writes(k)[-1] == 'PROPFIND'

@pytest.mark.parametrize('how', ['foreign origin', 'cross-site, no origin', 'foreign referer only', 'same origin'])
def test_websocket_handshakes(served, how):
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidStatus
    k, url, port = served
    ws_url = url.replace('http://', 'ws://') + '/echo'
    if how == 'same origin':
        with connect(ws_url, origin=url) as ws:
            ws.send(json.dumps({'msg': 'hi'})); assert 'hi' in ws.recv(timeout=10)
        return
    with pytest.raises(InvalidStatus) as e:
        with connect(ws_url, additional_headers=PROVENANCE[how]): pass
    assert e.value.response.status_code == 403

def test_websocket_through_real_jupyter_server_proxy(served, lab):
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidStatus, ConnectionClosed
    k, url, port = served
    ws_url = f'ws://127.0.0.1:{lab.port}/proxy/{port}/echo'
    auth = {'Authorization': f'token {lab.token}'}
    with connect(ws_url, origin=lab.base, additional_headers=auth) as ws:   # arrives with Jupyter's Host and no prefix
        ws.send(json.dumps({'msg': 'via lab'})); assert 'via lab' in ws.recv(timeout=10)
    with pytest.raises((InvalidStatus, ConnectionClosed)):   # Jupyter accepts a token-authenticated handshake, then fhnb refuses its upstream one
        with connect(ws_url, origin='http://evil.example', additional_headers=auth) as ws:
            ws.send(json.dumps({'msg': 'x'})); ws.recv(timeout=10)

# --- Headers that lie ---------------------------------------------------------------------------------

def test_forwarded_headers_from_a_direct_client_are_not_trusted(served):
    k, url, port = served
    r = httpx.get(url + '/who', headers={'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example',
                                         'forwarded': 'for=6.6.6.6;proto=https', 'x-forwarded-prefix': '/evil'}).json()
    assert r == {'client': '127.0.0.1', 'scheme': 'http', 'url': url + '/who', 'forwarded': {}}, r

@pytest.mark.parametrize('head,status', [
    ('GET /secret HTTP/1.1\nHost: 127.0.0.1:{port}\nHost: evil.example:{port}', 400),
    ('GET /secret HTTP/1.1\nHost: evil.example:{port}\nHost: 127.0.0.1:{port}', 400),
    ('GET /secret HTTP/1.1\nHost: 127.0.0.1:0{port}', 400),
    ('GET /secret HTTP/1.1\nHost: 127.0.0.1:00{port}', 400),
    ('GET /secret HTTP/1.1\nHost: 127.0.0.1:{port}', 200),
    ('GET /secret HTTP/1.1\nHost: evil.example:{port}\nX-Forwarded-Prefix: /proxy/{port}', 403),
])
def test_host_header_forms(served, head, status):
    k, url, port = served
    got, data = raw(port, head.format(port=port))
    assert got == status, data[:300]

# --- Bounded memory -----------------------------------------------------------------------------------

def test_a_log_entry_stays_small_whatever_the_request_carries(served):
    k, url, port = served
    hx = ''.join(f'HX-Junk-{i}: {"x" * 1000}\n' for i in range(1000))   # 1 MB of HX-* headers
    form = b'&'.join(b'f%d=%s' % (i, b'v' * 90) for i in range(900))   # 86 KB of form (starlette takes at most 1000 fields)
    head = (f'POST /w?{"q" * 60000} HTTP/1.1\nHost: 127.0.0.1:{port}\nOrigin: {url}\nReferer: {url}/{"r" * 60000}\n{hx}'
            f'Content-Type: application/x-www-form-urlencoded\nContent-Length: {len(form)}')
    with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
        s.sendall(head.replace('\n', '\r\n').encode() + b'\r\nConnection: close\r\n\r\n' + form)
        data = b''
        while chunk := s.recv(65536): data += chunk
    assert data.startswith(b'HTTP/1.1 200'), data[:200]
    size = json.loads(k.ok('e = srv.log[-1]; print(json.dumps([len(json.dumps(e, ensure_ascii=False).encode()), len(e["hx"]), e["path"]]))').stdout)
    print(f'log entry: {size[0]} bytes with 1 MB of HX-* headers, 60 KB query and referer, 86 KB form')
    assert size[0] < 16 * 1024 and size[2] == '/w', size
    assert k.ok('print(srv.log.maxlen)').stdout.strip() == '500'

def test_a_refused_request_with_a_huge_host_stays_small_in_the_log(served):
    k, url, port = served
    status, data = raw(port, f'POST /w HTTP/1.1\nHost: evil{"a" * 60000}.example:{port}\nOrigin: http://evil.example')
    assert status == 403 and len(data) < 2000, len(data)
    e = json.loads(k.ok('print(json.dumps(srv.log[-1]))').stdout)
    assert e['status'] == 403 and len(json.dumps(e)) < 4096, len(json.dumps(e))

@pytest.mark.parametrize('host,status,why', [
    ('evil.example:{port}', 403, "403 Forbidden: Host 'evil.example:{port}' is not this server"),
    ('127.0.0.1:0{port}', 400, "400 Bad Request: Host '127.0.0.1:0{port}' is malformed"),
])
def test_a_refusal_is_one_line_of_plain_text(served, host, status, why):
    k, url, port = served
    got, data = raw(port, f'GET /secret HTTP/1.1\nHost: {host.format(port=port)}')
    head, body = data.split(b'\r\n\r\n', 1)
    assert got == status and b'content-type: text/plain; charset=utf-8' in head.lower(), head
    assert f'content-length: {len(body)}'.encode() in head.lower() and body.decode().startswith(why.format(port=port)), data
    assert b'\n' not in body, body

# --- Errors in one line, and the 500 page -------------------------------------------------------------

def test_unbindable_host_says_so(served):
    k, url, port = served
    r = k.run('serve_nb(app, host="192.0.2.1")')   # TEST-NET-1: never an address of this machine
    assert r.error and "cannot serve on host '192.0.2.1'" in r.error and 'taken' not in r.error and '\n' not in r.error, r.error
    assert httpx.get(url + '/secret').status_code == 200

def test_error_page_leads_with_the_users_line(served):
    k, url, port = served
    k.ok('@rt("/boom")\ndef get():\n    x = 1\n    return helper_that_fails(x)\ndef helper_that_fails(x): raise ValueError(f"<kaputt {x}>")')
    r = httpx.get(url + '/boom')
    assert r.status_code == 500
    head = r.text.split('<pre', 1)[0]
    assert 'ValueError: &lt;kaputt 1&gt;' in head and 'raise ValueError(f&quot;&lt;kaputt {x}&gt;&quot;)' in head, head
    tb = r.text.split('<pre', 1)[1].split('</pre>')[0]
    assert tb.index('in get') < tb.index('in helper_that_fails') and 'starlette' not in tb and 'library frames' in tb, tb
    assert 'starlette' in r.text.split('<details>')[1]   # the full traceback follows
    assert '<kaputt' not in r.text   # escaped everywhere

# --- Bounded connections ------------------------------------------------------------------------------

def test_1100_silent_connections_at_a_1024_fd_limit(kernel):
    k, silent = kernel, []
    try:
        k.ok('import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))')
        url = json.loads(k.ok(APP).stdout.strip().splitlines()[-1])
        port = int(url.rsplit(':', 1)[1])
        for _ in range(1100):
            silent.append(socket.create_connection(('127.0.0.1', port), timeout=5))
        t0 = time.monotonic()
        r = httpx.get(url + '/secret', timeout=15)
        dt = time.monotonic() - t0
        print(f'answered in {dt * 1000:.0f} ms with 1100 silent connections open')
        assert r.status_code == 200 and dt < 15
        fds = json.loads(k.ok('import os; fds = len(os.listdir("/proc/self/fd")); open(os.devnull).close(); '
                              'print(json.dumps([fds, resource.getrlimit(resource.RLIMIT_NOFILE)[0]]))').stdout)
        assert fds[1] == 1024 and fds[0] < 512, fds   # the kernel still opens files; the server holds at most its cap
        assert httpx.post(url + '/w', headers={'origin': url}).status_code == 200
    finally:
        for s in silent: s.close()

def test_a_dribbled_request_head_is_cut_off(served):
    k, url, port = served
    with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
        s.sendall(b'GET /secret HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n' % port)
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < 25:
                s.sendall(b'X-Slow: 1\r\n'); time.sleep(1)
            closed = False
        except OSError: closed = True
        closed = closed or s.recv(1) == b''
    assert closed and time.monotonic() - t0 < 15

# --- Shutdown -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('how', ['shutdown', 'restart'])
def test_requests_in_flight_get_503_when_the_kernel_goes(kernel, how):
    k = kernel
    url = json.loads(k.ok(APP).stdout.strip().splitlines()[-1])
    k.ok('import threading\nstarted = threading.Event()\n@rt("/slow")\ndef get():\n    started.set()\n    time.sleep(3)\n    return P("done")')
    got = []
    t = threading.Thread(target=lambda: got.append(httpx.get(url + '/slow', timeout=30)))
    t.start()
    assert k.ok('print(started.wait(60))').stdout.strip() == 'True'   # the request is in its handler
    if how == 'restart': k.km.restart_kernel(now=False)
    else: k.kc.stop_channels(); k.km.shutdown_kernel(now=False)
    t.join(30)
    assert got and got[0].status_code == 503 and 'shutting down' in got[0].text, got and (got[0].status_code, got[0].text[:300])

# --- In Chromium: a page on another loopback port -----------------------------------------------------

class _Attacker(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'<!doctype html><title>attacker</title><p>another site</p>'
        self.send_response(200); self.send_header('content-type', 'text/html'); self.send_header('content-length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass

ATTACK = '''async (target) => {
  const out = {};
  try { const r = await fetch(target + '/secret', {credentials: 'include'}); out.read = await r.text(); }
  catch (e) { out.read = 'blocked: ' + e.name; }
  for (const method of ['QUERY', 'PROPFIND', 'POST', 'PUT']) {
    try { const r = await fetch(target + '/w', {method, credentials: 'include', body: 'x=1'}); out[method] = r.status + ' ' + await r.text(); }
    catch (e) { out[method] = 'blocked: ' + e.name; }
  }
  try { await fetch(target + '/w', {method: 'POST', mode: 'no-cors', credentials: 'include', body: 'x=1'}); out.nocors = 'sent'; }
  catch (e) { out.nocors = 'blocked: ' + e.name; }
  const f = document.createElement('form'); f.method = 'POST'; f.action = target + '/w'; f.target = 'sink';
  const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.append(sink, f); f.submit();
  await new Promise(r => setTimeout(r, 1500));
  return out; }'''

def test_chromium_page_on_another_port_can_neither_read_nor_write(served, page):
    k, url, port = served
    attacker = ThreadingHTTPServer(('127.0.0.1', 0), _Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        before = writes(k)
        page.goto(f'http://127.0.0.1:{attacker.server_address[1]}/')
        out = page.evaluate(ATTACK, url)
        print(out)
        assert out['read'].startswith('blocked'), out
        assert all(not out[m].startswith('200') for m in ('QUERY', 'PROPFIND', 'POST', 'PUT')), out
        assert writes(k) == before, writes(k)
        page.goto(url + '/secret')   # the server's own page still reads and writes
        own = page.evaluate('''async () => [await (await fetch('/secret')).text(), (await fetch('/w', {method: 'PROPFIND'})).status]''')
        assert '<p>secret</p>' in own[0] and own[1] == 200, own
    finally: attacker.shutdown()

# --- fhnb serve ---------------------------------------------------------------------------------------

SERVED_APP = '''
from fasthtml.common import *
from fasthtml.core import cors_allow
app, rt = fast_app(middleware=[cors_allow])   # allow-all CORS, as a notebook-made app has
writes = []
@rt('/')
def get(): return P('home')
@rt('/w')
def post(): writes.append(1); return P(f'written {len(writes)}')
@rt('/n')
def get(): return str(len(writes))
@rt('/who')
def get(req): return f'{req.client.host} {req.url.scheme}'
'''

@pytest.fixture
def app_dir(tmp_path):
    (tmp_path/'gapp.py').write_text(SERVED_APP)
    return tmp_path

def test_fhnb_serve_is_guarded_on_loopback(app_dir):
    with fhnb_serving('gapp:app', '--port', 0, cwd=app_dir) as (url, p):
        port = int(url.rsplit(':', 1)[1])
        out = (app_dir/'serve.out').read_text()
        assert 'answers to Host 127.0.0.1, [::1], localhost on port' in out, out
        assert httpx.get(url + '/', headers={'host': f'evil.example:{port}'}).status_code == 403
        assert httpx.post(url + '/w', headers={'origin': 'http://evil.example'}).status_code == 403
        assert httpx.post(url + '/w', headers={'sec-fetch-site': 'cross-site'}).status_code == 403
        assert httpx.get(url + '/n').text == '0'
        assert acao(httpx.get(url + '/', headers={'origin': 'http://evil.example'})) == []
        assert acao(httpx.options(url + '/w', headers={'origin': 'http://evil.example', 'access-control-request-method': 'POST'})) == []
        assert httpx.get(url + '/who', headers={'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https'}).text == '127.0.0.1 http'
        assert raw(port, f'GET / HTTP/1.1\nHost: 127.0.0.1:{port}\nHost: evil.example:{port}')[0] == 400
        assert '<p>written 1</p>' in httpx.post(url + '/w', headers={'origin': url}).text

def test_fhnb_serve_beyond_loopback_answers_allowed_hosts(app_dir, monkeypatch):
    monkeypatch.setenv('FHNB_ALLOWED_HOSTS', 'myapp.example.com')
    monkeypatch.setenv('FHNB_SECRET_KEY', 'one-key-for-every-process')   # required beyond loopback (sessions across machines)
    with fhnb_serving('gapp:app', '--host', '0.0.0.0', '--port', 0, cwd=app_dir) as (url, p):
        port = int(url.rsplit(':', 1)[1])
        out = (app_dir/'serve.out').read_text()
        assert 'answers to Host any IP address, 127.0.0.1, [::1], localhost, myapp.example.com on port' in out, out
        assert httpx.get(f'http://127.0.0.1:{port}/', headers={'host': f'myapp.example.com:{port}'}).status_code == 200
        assert httpx.get(f'http://127.0.0.1:{port}/', headers={'host': f'evil.example:{port}'}).status_code == 403
        assert httpx.post(f'http://127.0.0.1:{port}/w', headers={'host': f'myapp.example.com:{port}', 'origin': 'http://evil.example'}).status_code == 403
        assert httpx.post(f'http://127.0.0.1:{port}/w', headers={'host': f'myapp.example.com:{port}', 'origin': f'http://myapp.example.com:{port}'}).status_code == 200

def fhnb_error(*args, cwd) -> str:
    r = subprocess.run([sys.executable, '-m', 'fhnb', 'serve', *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()

@pytest.mark.parametrize('module,src,msg', [
    ('raises', 'from fasthtml.common import *\napp, rt = fast_app()\nraise RuntimeError("no database configured")\n',
     "fhnb serve: app 'raises:app': {d}/raises.py:3: RuntimeError: no database configured"),
    ('needs', 'import os\nimport not_installed_dep_xyz\n', "fhnb serve: app 'needs:app': {d}/needs.py:2: missing dependency 'not_installed_dep_xyz': install it"),
    ('typo', 'from fasthtml.common import *\ndef get(:\n', "fhnb serve: app 'typo:app': {d}/typo.py:2: SyntaxError: invalid syntax"),
])
def test_fhnb_serve_broken_app_module_is_one_line(tmp_path, module, src, msg):
    (tmp_path/f'{module}.py').write_text(src)
    assert fhnb_error(f'{module}:app', '--port', 0, cwd=tmp_path) == msg.format(d=tmp_path)

@pytest.mark.parametrize('args,msg', [
    (['json:dumps', '--port', 0], "fhnb serve: app 'json:dumps' is a function, not an ASGI app: name a FastHTML app, e.g. myapp.app:app"),
    (['gapp:app', '--port', 70000], 'fhnb serve: --port 70000: expected 0 to 65535 (0: any free port)'),
    (['gapp:app', '--port', -1], 'fhnb serve: --port -1: expected 0 to 65535 (0: any free port)'),
])
def test_fhnb_serve_bad_arguments_are_one_line(app_dir, args, msg):
    assert fhnb_error(*args, cwd=app_dir) == msg

def test_the_guard_loads_no_jupyter_or_fasthtml_code():
    r = subprocess.run([sys.executable, '-c', "import sys, fhnb.guard; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                        "('fhnb', 'fasthtml', 'IPython', 'ipykernel', 'ipywidgets', 'anywidget', 'starlette', 'fastlite')))"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "['fhnb', 'fhnb.guard']", r.stdout + r.stderr
