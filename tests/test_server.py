"""The kernel's server (issue 3): each promise tested in a real ipykernel, with real uvicorn and real HTTP on 127.0.0.1."""
import json, re, socket, subprocess, sys, textwrap, threading, time
from pathlib import Path
import httpx, pytest
from harness import free_port, wait_http

APP = '''
from fasthtml.common import *
from fastlite import database
from fhnb import *
import threading, time, sys, json
app, rt = fast_app()
@rt('/')
def get(): return P('home')
'''

def port_of(k) -> int: return int(k.ok('print(current_server().port)').stdout)

def serving(k, code=APP) -> str:
    "Run `code` and `serve_nb(app)` in kernel `k`; the server's URL."
    k.ok(code)
    return json.loads(k.ok('srv = serve_nb(app); print(json.dumps(srv.url))', ).stdout) if 'import json' in code else \
           k.ok('import json; srv = serve_nb(app); print(json.dumps(srv.url))').stdout.strip().strip('"')

def port_free(port:int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(('127.0.0.1', port)) != 0

# --- Idempotent ---------------------------------------------------------------------------------------

def test_idempotent_50_runs(kernel):
    "Running the serving cell again is the same server on the same port (how long a run takes: `bench/kernel.py`)."
    url = serving(kernel)
    kernel.ok('ports = []')
    for _ in range(50):
        kernel.ok('s = serve_nb(app); ports.append(s.port)')
    r = json.loads(kernel.ok('print(json.dumps(dict(ports=sorted(set(ports)), '
                             'threads=[t.name for t in threading.enumerate() if t.name.startswith("fhnb-server")])))').stdout)
    assert r['ports'] == [int(url.rsplit(':', 1)[1])]
    assert len(r['threads']) == 1, r['threads']
    assert httpx.get(url).status_code == 200

# --- Live code ----------------------------------------------------------------------------------------

def test_live_swap_same_port(kernel):
    url = serving(kernel)
    assert '<p>home</p>' in httpx.get(url).text
    kernel.ok('app2, rt2 = fast_app()\n@rt2("/")\ndef get(): return P("second app")\ns2 = serve_nb(app2)\nassert s2 is srv')
    assert '<p>second app</p>' in httpx.get(url).text
    assert port_of(kernel) == int(url.rsplit(':', 1)[1])

def test_redefined_route_changes_next_response(kernel):
    url = serving(kernel)
    cell = '@rt("/x")\ndef {name}(): return P("{text}")'
    kernel.ok(cell.format(name='get', text='one'))
    assert '<p>one</p>' in httpx.get(url + '/x').text
    kernel.ok(cell.format(name='get', text='two'))       # the cell re-run after an edit
    assert '<p>two</p>' in httpx.get(url + '/x').text
    kernel.ok(cell.format(name='index', text='three'))   # ... even when the function got another name
    assert '<p>three</p>' in httpx.get(url + '/x').text
    kernel.ok('@app.get("/y")\ndef y(): return "get y"\n@app.post("/y")\ndef y2(): return "post y"\n@app.get("/y")\ndef y3(): return "get y, edited"')
    assert httpx.get(url + '/y').text == 'get y, edited' and httpx.post(url + '/y').text == 'post y'   # other methods stay
    kernel.ok('@app.ws("/x")\nasync def ws(msg:str, send): pass\n@rt("/x")\ndef get(): return P("four")')
    assert '<p>four</p>' in httpx.get(url + '/x').text
    assert kernel.ok('print(sum(type(r).__name__ == "WebSocketRoute" for r in app.routes))').stdout.strip() == '1'

# --- Ports --------------------------------------------------------------------------------------------

def test_default_is_a_free_loopback_port(kernel):
    url = serving(kernel)
    assert re.fullmatch(r'http://127\.0\.0\.1:\d+', url)
    assert kernel.ok('print(srv._listeners[srv.port][1].getsockname()[0])').stdout.strip() == '127.0.0.1'

def test_taken_preferred_port_moves_with_a_note(kernel, tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0)); taken.listen(); n = taken.getsockname()[1]
        (tmp_path/'settings.ini').write_text(f'[fhnb]\nport = {n}\n')
        kernel.ok(APP)
        r = kernel.ok('srv = serve_nb(app)')
        assert f'port {n} is taken' in r.stdout, r.stdout
        p = port_of(kernel)
        assert p != n and httpx.get(f'http://127.0.0.1:{p}/').status_code == 200

def test_taken_explicit_port_is_a_one_line_error(kernel):
    url = serving(kernel)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0)); taken.listen(); n = taken.getsockname()[1]
        r = kernel.run(f'serve_nb(app, port={n})')
        assert r.error and str(n) in r.error and '\n' not in r.error, r.error
    assert httpx.get(url).status_code == 200   # the running server kept serving
    assert kernel.ok('print(current_server() is srv, srv.url)').stdout.split() == ['True', url]

def test_explicit_free_port(kernel):
    n = free_port()
    kernel.ok(APP)
    kernel.ok(f'srv = serve_nb(app, port={n})')
    assert port_of(kernel) == n and httpx.get(f'http://127.0.0.1:{n}/').status_code == 200

# --- Lifecycle ----------------------------------------------------------------------------------------

def test_stop_restart_and_20_cycles_leave_no_thread(kernel):
    url = serving(kernel)
    port = int(url.rsplit(':', 1)[1])
    kernel.ok('srv.stop()')
    assert port_free(port)
    kernel.ok('srv.restart()')
    assert port_of(kernel) == port and httpx.get(url).status_code == 200
    kernel.ok('srv.stop(); assert serve_nb(app) is srv')   # serve_nb after a stop: the same server, back on its port
    assert port_of(kernel) == port and httpx.get(url).status_code == 200
    httpx.post(url + '/', data={'a': 1})   # let the thread pool start its workers
    r = json.loads(kernel.ok(textwrap.dedent('''
        n0 = threading.active_count()
        for i in range(20):
            srv.stop(); srv.start()
            assert srv.running
        time.sleep(0.2)
        print(json.dumps([n0, threading.active_count(), [t.name for t in threading.enumerate()]]))''')).stdout)
    assert r[1] <= r[0], r
    assert httpx.get(url).status_code == 200

def test_kernel_shutdown_and_restart_free_the_port(kernel):
    "The kernel's server goes with its kernel: the port is free once a restart or a shutdown returns (how soon: `bench/kernel.py`)."
    url = serving(kernel)
    kernel.km.restart_kernel(now=False)
    assert port_free(int(url.rsplit(':', 1)[1]))
    kernel.kc.wait_for_ready(timeout=60)
    url = serving(kernel)
    kernel.kc.stop_channels()
    kernel.km.shutdown_kernel(now=False)
    assert port_free(int(url.rsplit(':', 1)[1]))

# --- Faults -------------------------------------------------------------------------------------------

def test_failing_handler_gives_traceback_page_and_server_lives_on(kernel):
    url = serving(kernel)
    kernel.ok(textwrap.dedent('''
        import logging
        class Grab(logging.Handler):
            records = []
            def emit(self, r): self.records.append(r)
        logging.getLogger('uvicorn').addHandler(Grab()); logging.getLogger('uvicorn').setLevel(logging.DEBUG)
        @rt('/boom')
        def get(): raise ValueError('kaputt')'''))
    with httpx.Client() as c:
        rs = [c.get(url + '/boom') for _ in range(100)]
        assert {r.status_code for r in rs} == {500}
        assert 'ValueError: kaputt' in rs[0].text and 'Traceback' in rs[0].text and rs[0].headers['content-type'].startswith('text/html')
        assert c.get(url + '/').status_code == 200
    r = json.loads(kernel.ok('print(json.dumps(dict(errors=[e["error"] for e in srv.log if e["error"]], '
                             'noise=[r.getMessage() for r in Grab.records if r.levelno >= logging.WARNING])))').stdout)
    assert len(r['errors']) == 100 and r['errors'][0] == 'ValueError: kaputt'
    assert r['noise'] == []

def test_apps_own_500_passes_through(kernel):
    url = serving(kernel)
    kernel.ok('@rt("/mine")\ndef get(): return Response("my own 500", status_code=500)')
    r = httpx.get(url + '/mine')
    assert r.status_code == 500 and r.text == 'my own 500'

# --- Guard --------------------------------------------------------------------------------------------

def test_guard_refuses_forged_host_and_foreign_origin(kernel):
    url = serving(kernel)
    port = int(url.rsplit(':', 1)[1])
    kernel.ok('@rt("/add")\ndef post(title:str): return P(title)')
    assert httpx.get(url, headers={'host': f'evil.example:{port}'}).status_code == 403         # DNS rebinding
    assert httpx.get(url, headers={'host': f'evil.example:{port}', 'x-forwarded-prefix': f'/proxy/{port}'}).status_code == 403
    foreign = httpx.post(url + '/add', data={'title': 'x'}, headers={'origin': 'http://evil.example'})
    assert foreign.status_code == 403
    for verb in ('put', 'patch', 'delete'):
        assert httpx.request(verb.upper(), url + '/add', headers={'origin': 'http://evil.example'}).status_code == 403
    # the app itself would have allowed it: FastHTML adds allow-all CORS in a notebook
    assert kernel.ok('print(any("CORS" in repr(m) for m in app.user_middleware))').stdout.strip() == 'True'
    assert httpx.post(url + '/add', data={'title': 'same'}, headers={'origin': url}).text.count('<p>same</p>') == 1   # (the page's head has fhnb's frame script)
    assert httpx.post(url + '/add', data={'title': 'no origin'}).status_code == 200
    assert httpx.get(url, headers={'host': f'localhost:{port}'}).status_code == 200
    # through the Jupyter server's proxy: the page's Host and Origin, and the proxy's prefix
    proxied = {'host': 'lab.example:8888', 'origin': 'http://lab.example:8888', 'x-forwarded-prefix': f'/user/me/proxy/{port}'}
    assert httpx.post(url + '/add', data={'title': 'proxied'}, headers=proxied).status_code == 200

def test_guard_on_websockets(kernel):
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidStatus, ConnectionClosed
    url = serving(kernel)
    kernel.ok('@app.ws("/echo")\nasync def ws(msg:str, send): await send(msg)')
    ws_url = url.replace('http://', 'ws://') + '/echo'
    with connect(ws_url, origin=url) as ws:   # same origin
        ws.send(json.dumps({'msg': 'hi'})); assert 'hi' in ws.recv(timeout=10)
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        with connect(ws_url, origin='http://evil.example') as ws: ws.send(json.dumps({'msg': 'hi'})); ws.recv(timeout=10)

def test_guard_through_real_jupyter_server_proxy(kernel, lab):
    url = serving(kernel)
    port = int(url.rsplit(':', 1)[1])
    kernel.ok('@rt("/add")\ndef post(title:str): return P(title)')
    auth = {'authorization': f'token {lab.token}'}
    with httpx.Client(base_url=lab.base, headers=auth, timeout=30) as c:
        r = c.get(f'/proxy/{port}/')
        assert r.status_code == 200 and '<p>home</p>' in r.text
        r = c.post(f'/proxy/{port}/add', data={'title': 'via lab'}, headers={'origin': lab.base})
        assert r.status_code == 200 and 'via lab' in r.text
        r = c.post(f'/proxy/{port}/add', data={'title': 'x'}, headers={'origin': 'http://evil.example'})
        assert r.status_code in (403, 404) # refused by Jupyter or by fhnb
    hdrs = json.loads(kernel.ok('print(json.dumps([e["path"] for e in srv.log]))').stdout)
    assert '/add' in hdrs

# --- Log ----------------------------------------------------------------------------------------------

def test_log_entries_and_ring(kernel):
    url = serving(kernel)
    kernel.ok('@rt("/add")\ndef post(title:str): return P(title)\n@rt("/bad")\ndef get(): 1/0')
    httpx.post(url + '/add?x=1', data={'title': 'milk', 'big': 'y' * 10_000},
               headers={'hx-request': 'true', 'hx-target': 'list', 'referer': url + '/'})
    httpx.get(url + '/bad')
    e = json.loads(kernel.ok('print(json.dumps(list(srv.log)[-2:]))').stdout)
    add, bad = e
    assert (add['method'], add['path'], add['query'], add['status']) == ('POST', '/add', 'x=1', 200)
    assert add['form']['title'] == 'milk' and len(json.dumps(add['form'])) < 2200   # capped
    assert add['hx'] == {'hx-request': 'true', 'hx-target': 'list'} and add['referer'] == url + '/'
    assert add['ms'] > 0 and add['time'] > 0 and add['error'] is None
    assert bad['status'] == 500 and 'ZeroDivisionError' in bad['error']
    html = kernel.ok('srv.log').outputs[0]['text/html']
    assert '<table' in html and '/add' in html
    with httpx.Client() as c:
        for i in range(510): c.get(url + f'/?i={i}')
    assert json.loads(kernel.ok('print(json.dumps([len(srv.log), srv.log[-1]["query"]]))').stdout) == [500, 'i=509']

def test_the_log_table_escapes_what_requests_sent(kernel):
    url = serving(kernel)
    kernel.ok('@rt("/add")\ndef post(title:str): return P(title)')
    httpx.post(url + '/add', params={'q': '<img src=x onerror=alert(1)>'}, data={'title': '<script>alert(2)</script>'}, headers={'hx-request': 'true'})
    html = kernel.ok('srv.log').outputs[0]['text/html']
    heads = re.findall(r'<th[^>]*>(\w+)</th>', html)
    assert heads == 'time method path query status ms hx form error'.split(), heads
    assert '<script>' not in html and '<img' not in html and 'title=&lt;script&gt;alert(2)&lt;/script&gt;' in html, html
    assert 'hx-request=true' in html

def test_listeners_get_each_entry_on_the_server_thread(kernel):
    url = serving(kernel)
    kernel.ok('seen = []\nsrv.listeners.append(lambda e: seen.append((e["path"], e["status"], threading.current_thread().name)))')
    httpx.get(url + '/?q=1'); httpx.get(url + '/nope')
    seen = json.loads(kernel.ok('print(json.dumps(seen))').stdout)
    assert [tuple(x[:2]) for x in seen] == [('/', 200), ('/nope', 404)] and all(x[2].startswith('fhnb-server') for x in seen)

# --- Pages: offline assets and head snippets ----------------------------------------------------------

def test_pages_use_local_assets_and_head_snippets(kernel):
    url = serving(kernel)
    kernel.ok('srv.head_snippets.append("<script data-test=1>/*x*/</script>")')
    page = httpx.get(url + '/').text
    assert 'https://cdn.jsdelivr.net' not in page and 'https://unpkg.com' not in page
    srcs = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert srcs and all(u.startswith('/_fhnb/static/') for u in srcs), srcs
    assert all(httpx.get(url + u).status_code == 200 for u in srcs)
    assert page.index('<script data-test=1>') < page.index('</head>')
    assert httpx.get(url + '/_fhnb/health').json()['ok'] is True

# --- Nothing lost -------------------------------------------------------------------------------------

def test_nothing_lost_8x500_posts_and_2000_cell_inserts(kernel, tmp_path):
    kernel.ok(APP + textwrap.dedent(f'''
        db = database({str(tmp_path/'todos.db')!r})
        todos = db.create_table('todos', dict(id=int, title=str), pk='id')
        @rt('/add')
        def post(title:str): return P(todos.insert(title=title)['title'])
        srv = serve_nb(app)'''))
    url = f'http://127.0.0.1:{port_of(kernel)}'
    statuses, errors = [], []
    def client(i):
        with httpx.Client(timeout=60) as c:
            for j in range(500):
                try: statuses.append(c.post(url + '/add', data={'title': f'req {i}.{j}'}).status_code)
                except Exception as e: errors.append(repr(e))
    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts: t.start()
    kernel.ok('cell_errors = []\nfor i in range(2000):\n    try: todos.insert(title=f"cell {i}")\n    except Exception as e: cell_errors.append(repr(e))')
    for t in ts: t.join()
    assert errors == [] and statuses.count(200) == 4000, (errors[:3], [s for s in statuses if s != 200][:3])
    r = json.loads(kernel.ok('print(json.dumps([todos.count, cell_errors[:3], [e["error"] for e in srv.log if e["error"]][:3]]))').stdout)
    assert r == [6000, [], []], r

# --- Busy kernel --------------------------------------------------------------------------------------

# A CPU-bound cell that runs until a request to /done ends it (two minutes at most); /x answers how far it got.
BUSY_ROUTES = 'done, x = False, 0\n@rt("/x")\ndef get(): return str(x)\n@rt("/done")\ndef post():\n    global done\n    done = True'
BUSY_CELL = 't0 = time.perf_counter()\nwhile not done and time.perf_counter() - t0 < 120: x += 1'

def computing(kernel, url) -> int:
    "Start BUSY_CELL in `kernel` and wait until it computes; how far it got."
    kernel.kc.execute(BUSY_CELL)
    end = time.monotonic() + 60
    while (x := int(httpx.get(url + '/x').text)) == 0: assert time.monotonic() < end, 'the busy cell did not start'
    return x

def test_requests_answered_while_a_cell_computes(kernel):
    "Requests are answered while a cell computes, not after it (how fast: `bench/server.py`)."
    url = serving(kernel)
    kernel.ok('@rt("/ping")\ndef post(): return P("pong")\n' + BUSY_ROUTES)
    first = computing(kernel, url)
    with httpx.Client() as c:
        for _ in range(100): assert c.post(url + '/ping').status_code == 200
        last = int(c.get(url + '/x').text)
        c.post(url + '/done')
    assert last > first   # the cell went on computing while the requests were answered
    busy = kernel.run('print(done, x >= %d)' % last)   # queued behind the busy cell
    assert busy.error is None and busy.stdout.split() == ['True', 'True'], busy

def test_switch_interval_is_short_only_while_a_cell_computes_and_a_request_is_answered(kernel):
    url = serving(kernel)
    kernel.ok('import sys\n@rt("/interval")\ndef get(): return str(sys.getswitchinterval())\n' + BUSY_ROUTES)
    def interval(): return round(float(httpx.get(url + '/interval').text), 6)
    assert interval() == 0.001                       # idle kernel: no cell competes for the GIL
    computing(kernel, url)
    assert interval() == 0.0002                      # a cell computes: the server takes the GIL back sooner
    httpx.post(url + '/done')
    assert kernel.ok('print(round(sys.getswitchinterval(), 6))').stdout.strip() == '0.001'   # queued behind the cell
    assert interval() == 0.001

# --- Seed code ----------------------------------------------------------------------------------------

SEED = '''
from fasthtml.common import *
app, rt = fast_app()
@rt('/')
def get(): return Titled('Seed', P('seeded'))
serve()
'''

@pytest.mark.parametrize('order', ['fhnb first', 'fasthtml first'])
def test_seed_serve_in_a_kernel(kernel, order):
    if order == 'fhnb first': kernel.ok('from fhnb import *')
    else: kernel.ok('from fasthtml.common import *\nfrom fhnb import *')
    r = kernel.ok(SEED)
    assert r.outputs, 'serve() showed nothing'
    url = kernel.ok('print(current_server().url)').stdout.strip()
    assert 'seeded' in httpx.get(url + '/').text
    r2 = kernel.ok(SEED.replace('seeded', 'seeded again'))   # re-running the seed cell: same server
    assert kernel.ok('print(current_server().url)').stdout.strip() == url
    assert 'seeded again' in httpx.get(url + '/').text

def test_serve_outside_a_kernel_is_fasthtmls(tmp_path):
    port = free_port()
    (tmp_path/'seedapp.py').write_text(f'from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n'
                                       f'@rt("/")\ndef get(): return P("script")\nserve(port={port}, reload=False)\n')
    p = subprocess.Popen([sys.executable, 'seedapp.py'], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f'http://127.0.0.1:{port}/', timeout=30, proc=p)
        assert '<p>script</p>' in httpx.get(f'http://127.0.0.1:{port}/').text
    finally:
        p.terminate(); p.wait(10)

def test_the_server_thread_runs_uvloop_and_leaves_the_kernels_loop_alone(kernel):
    pytest.importorskip('uvloop')
    url = serving(kernel)
    r = json.loads(kernel.ok('import asyncio\nprint(json.dumps([type(srv._loop).__module__, srv._loop.is_running(), '
                             'type(asyncio.get_event_loop_policy()).__module__]))').stdout)
    assert r[:2] == ['uvloop', True] and r[2].startswith('asyncio'), r   # uvicorn's loop factory: no process-wide policy
    kernel.ok('srv.restart()')
    assert kernel.ok('print(srv._loop.is_running())').stdout.strip() == 'True' and httpx.get(url).status_code == 200

def test_another_host_on_the_same_port(kernel):
    url = serving(kernel)
    port = int(url.rsplit(':', 1)[1])
    httpx.get(url)
    r = json.loads(kernel.ok(f'old, logged = srv, len(srv.log)\nsrv = serve_nb(app, host="127.0.0.2", port={port})\n'
                             'print(json.dumps([srv is old, srv is current_server(), srv.url, srv.running, len(srv.log) == logged]))').stdout)
    assert r == [True, True, f'http://127.0.0.2:{port}', True, True], r   # one server, rebound in place, its log kept
    assert '<p>home</p>' in httpx.get(f'http://127.0.0.2:{port}/').text
    with pytest.raises(httpx.ConnectError): httpx.get(url)   # the old binding is closed
    kernel.ok(f'assert serve_nb(app, host="localhost", port={port}) is old')
    assert httpx.get(f'http://localhost:{port}/').status_code == 200
