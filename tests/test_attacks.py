"""The attack list of issue 28's round, one test per class of attack that got through, each tried the way the attacker
did (real processes, a real kernel, real PostgreSQL): secrets shown, malformed database URLs, odd project names, kernel
route messages no browser would send. This list is the starting point of the next round: add a class here when an
attack finds one, and keep the old ones passing. (The kernel route's browser-side attacks and its start-up race are in
tests/test_bridge.py, where the JupyterLab harness is.)"""
from __future__ import annotations
import os, subprocess, sys, time
from pathlib import Path
import httpx, pytest
from harness import Kernel, serving
from services import postgres, PG_PASSWORD

KEY = 'attack-session-key-' + 'k' * 32   # FHNB_SECRET_KEY for these tests: it must never show anywhere either
SECRETS = (PG_PASSWORD, KEY)

def fhnb(*args, cwd:Path, env:dict|None=None) -> subprocess.CompletedProcess:
    "`fhnb ARGS` (python -m fhnb) in `cwd` with environment `env`; finished."
    return subprocess.run([sys.executable, '-m', 'fhnb', *args], cwd=cwd, env=env or dict(os.environ), capture_output=True, text=True, timeout=120)

def shown(r:subprocess.CompletedProcess) -> str: return r.stdout + r.stderr

def one_line(r:subprocess.CompletedProcess) -> str:
    "The single line a refused command printed (exit status 2, no traceback)."
    assert r.returncode == 2 and 'Traceback' not in r.stderr and not r.stdout, shown(r)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()

def no_secrets(texts:dict):
    "Fail naming each output (what produced it) that shows one of the secrets these tests set."
    leaks = {what: s for what, text in texts.items() for s in SECRETS if s in text}
    assert not leaks, f'secrets shown by: {leaks}'

@pytest.fixture(scope='module')
def cluster():
    with postgres() as url: yield url

# --- 1. Secrets are never shown ------------------------------------------------------------------------------------------

KERNEL_CELLS = ["from fasthtml.common import *\nfrom fhnb import *\nimport fhnb.settings as fs",
                "app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, pk='id'))\n\n"
                "@rt('/')\ndef get(): return Ul(*[Li(t.title) for t in todos()])\n\n"
                "@rt('/add')\ndef post(title:str, session): session['n'] = 1; return Li(todos.insert(title=title).title)\n\n"
                "@rt('/boom')\ndef get(): raise RuntimeError('from the handler')",
                "srv = serve_nb(app)\nsrv",
                "import httpx\nfor r in (httpx.get(srv.url + '/'), httpx.post(srv.url + '/add', data={'title': 'x'}), httpx.get(srv.url + '/boom')): print(r.status_code, r.text[-300:])",
                "print(srv.log)\nsrv.log",
                "todos",
                "preview('/')",
                "s = fs.load_settings()\nprint(s)\ns",
                "fs.load_settings(env={'FHNB_DATABASE': s.database.replace('@127.0.0.1:', '@127.0.0.1:x')})"]

def kernel_outputs(k:Kernel, cells:list) -> dict:
    "Everything the kernel sent back for each of `cells`: streams, every mime type of every output, errors and tracebacks."
    out = {}
    for i, code in enumerate(cells):
        r = k.run(code)
        out[f'kernel cell {i}'] = '\n'.join([r.stdout, r.stderr, r.error or '', r.traceback, *(str(v) for o in r.outputs for v in o.values())])
    return out

def test_secrets_are_never_shown(cluster, tmp_path, monkeypatch):
    "With a PostgreSQL password and FHNB_SECRET_KEY set, no output of fhnb shows either: settings, errors, fhnb serve, the kernel's server and its log."
    port = cluster.rsplit(':', 1)[1].split('/')[0]
    env = {**os.environ, 'FHNB_SECRET_KEY': KEY, 'FHNB_DATABASE': cluster}
    bad = lambda url: {**env, 'FHNB_DATABASE': url}
    texts = {'settings repr and str': shown(subprocess.run([sys.executable, '-c', 'from fhnb.settings import load_settings as l; s = l(); print(repr(s)); print(s); print([s])'],
                                                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60))}
    for what, url in [('malformed port', cluster.replace(f':{port}/', ':5x32/')), ('unknown driver', cluster.replace('postgresql://', 'postgresql+psycopg2://')),
                      ('unreachable', cluster.replace(f':{port}/', ':1/')), ('wrong password', cluster.replace(PG_PASSWORD, PG_PASSWORD + 'x'))]:
        for cmd in (['serve', 'fhnb.examples.todos:app', '--port', '0'], ['settings']):
            r = fhnb(*cmd, cwd=tmp_path, env=bad(url))
            texts[f'fhnb {cmd[0]}, {what}'] = shown(r)
            if cmd[0] == 'serve': one_line(r)   # and refused in one line
    monkeypatch.setenv('FHNB_SECRET_KEY', KEY)
    monkeypatch.setenv('FHNB_DATABASE', cluster)
    with serving('fhnb.examples.todos:app', '--port', '0', cwd=tmp_path) as (url, p):
        httpx.get(url + '/'); httpx.post(url + '/add', data={'title': 'x'})
    texts['fhnb serve start-up and stop'] = (tmp_path/'serve.out').read_text() + (tmp_path/'serve.err').read_text()
    assert 'fhnb serve: fhnb.examples.todos:app at http://' in texts['fhnb serve start-up and stop']   # it did run
    k = Kernel(cwd=tmp_path)   # inherits the environment set above
    try: texts |= kernel_outputs(k, KERNEL_CELLS)
    finally: k.shutdown()
    assert 'from the handler' in texts['kernel cell 4'] and ':***@127.0.0.1' in texts['kernel cell 7'], texts   # the log and the settings did show
    no_secrets(texts)

def test_fhnb_settings_masks_the_password(tmp_path):
    "`fhnb settings` shows the database URL with its password as ***."
    r = fhnb('settings', cwd=tmp_path, env={**os.environ, 'FHNB_DATABASE': f'postgresql://todos:{PG_PASSWORD}@db/todos'})
    assert r.returncode == 0 and 'database = postgresql://todos:***@db/todos' in r.stdout, shown(r)
    no_secrets({'fhnb settings': shown(r)})

# --- 6. Malformed database URLs -------------------------------------------------------------------------------------------

BAD_URLS = {'port': ('postgresql://todos:{pw}@db:54x2/todos', 'a port from 1 to 65535'), 'port range': ('postgresql://todos:{pw}@db:70000/todos', 'a port from 1 to 65535'),
            'scheme': ('mysql://todos:{pw}@db/todos', 'no other scheme or driver'), 'driver': ('postgresql+asyncpg://todos:{pw}@db/todos', 'no other scheme or driver'),
            'host': ('postgresql://todos:{pw}@[db/todos', 'an IPv6 address in [ ]'), 'space': ('postgresql://todos:{pw} @db/todos', 'no spaces')}

@pytest.mark.parametrize('kind', BAD_URLS)
def test_malformed_database_url_is_one_line(tmp_path, kind):
    "FHNB_DATABASE or settings.ini `database` malformed: one line naming the key, where it was set and what is allowed; no password."
    url, allowed = BAD_URLS[kind]
    url = url.format(pw=PG_PASSWORD)
    err = one_line(fhnb('serve', 'fhnb.examples.todos:app', cwd=tmp_path, env={**os.environ, 'FHNB_SECRET_KEY': KEY, 'FHNB_DATABASE': url}))
    assert err.startswith('fhnb serve: environment FHNB_DATABASE = ') and allowed in err and PG_PASSWORD not in err, err
    (tmp_path/'settings.ini').write_text(f'[fhnb]\ndatabase = {url}\n')
    env = {k: v for k, v in os.environ.items() if k != 'FHNB_DATABASE'}
    err = one_line(fhnb('settings', cwd=tmp_path, env=env))
    assert f'{tmp_path/"settings.ini"} [fhnb] database = ' in err and allowed in err and PG_PASSWORD not in err, err

# --- 7. Long and odd project names ------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['a' * 300, 'my app', 'my.app', 'caf\u00e9', '\u0444\u0445', '2fast', '..', '.', 'a/b', 'a\u202eb', 'x\ny', '-x'])
def test_odd_project_name_is_one_line_and_writes_nothing(tmp_path, name):
    "`fhnb new NAME`: one line naming the name (at most 40 of its characters) and what is allowed; nothing written."
    err = one_line(fhnb('new', '--', name, cwd=tmp_path))   # -- : a name may start with -
    assert err.startswith(f'fhnb new: project name {name[:40]!r}') and len(err) < 200, err
    assert 'letters' in err or 'at most 64 characters' in err, err
    assert not list(tmp_path.iterdir())

def test_unwritable_project_folder_is_one_line_and_leaves_nothing(tmp_path):
    "A folder the file system refuses (a 300-character name): one line, and nothing half-written."
    err = one_line(fhnb('new', 'todo', '--path', str(tmp_path/('x' * 300)/'todo'), cwd=tmp_path))
    assert err.startswith("fhnb new: cannot write project 'todo' in ") and err.endswith('nothing was left there'), err
    assert not list(tmp_path.iterdir())

# --- 5. Kernel route: messages no browser would send ------------------------------------------------------------------

BRIDGE_CELLS = ["from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n\n@rt('/')\ndef get(): return P('ok')\n\nsrv = serve_nb(app)",
                "p = preview('/')\nsent = []\n_send = p.send\ndef spy(*a, **kw): sent.append(a); return _send(*a, **kw)   # still sends; keeps a copy\np.send = spy"]

MALFORMED = [dict(url='/\u4e2d'), dict(url='/\r\nx'), dict(url='/', headers=[['x-a', '\u2615']]), dict(url='/', headers=[['x-a']]),
             dict(url='/', headers=[[1, 2]]), dict(url='/', headers='x-a: 1'), dict(url='/', headers=[['bad name', 'v']]),
             dict(url='/', headers=[['x-a', 'v\r\nset-cookie: a=b']]), dict(url=None), dict(url='/', method=['GET']), dict(url='/' + 'a' * 100_000)]

def test_malformed_bridge_messages_get_an_error_answer(kernel):
    "Each message reaches the widget as its comm delivers one; each gets a 400 answer in one line and an inspector line; the route still works."
    for code in BRIDGE_CELLS: kernel.ok(code)
    deliver = ("import json\nfor i, m in enumerate(json.loads({msgs!r})):\n"
               "    p.comm.handle_msg({{'content': {{'data': {{'method': 'custom', 'content': {{'ask': 'http', 'id': i, 'method': 'GET', 'headers': [], **m}}}}}}, 'buffers': []}})")
    import json
    r = kernel.ok(deliver.format(msgs=json.dumps(MALFORMED)))
    assert not r.stderr and not r.outputs, (r.stderr, r.outputs)   # no traceback from the comm handler
    got = kernel.ok(f"import time\nend = time.monotonic() + 30\nwhile len(sent) < {len(MALFORMED)} and time.monotonic() < end: time.sleep(0.05)\n"
                    "print(json.dumps([[m['id'], m['status'], bytes(b[0]).decode()] for m, b in sent]))\n"
                    "print(json.dumps([e['error'] for e in p._log]))").stdout.splitlines()
    answers, lines = json.loads(got[0]), json.loads(got[1])
    assert [a[0] for a in answers] == list(range(len(MALFORMED))) and {a[1] for a in answers} == {400}, answers
    assert all(a[2].startswith('fhnb kernel route: ') and '\n' not in a[2] and len(a[2]) < 300 for a in answers), answers
    assert lines == [a[2] for a in answers], lines   # the inspector's lines are the answers
    kernel.ok("sent.clear()\np.comm.handle_msg({'content': {'data': {'method': 'custom', 'content': {'ask': 'http', 'id': 'ok', 'method': 'GET', 'url': '/', 'headers': [['hx-request', 'true']]}}}, 'buffers': []})")
    ok = kernel.ok("end = time.monotonic() + 30\nwhile not sent and time.monotonic() < end: time.sleep(0.05)\nprint(sent[0][0]['status'], bytes(sent[0][1][0]).decode())").stdout
    assert ok.startswith('200 ') and '<p>ok</p>' in ok, ok
