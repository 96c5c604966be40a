"""`fhnb new` -> `nbdev-test` -> `fhnb export` -> `fhnb serve`, through real subprocesses and real HTTP on loopback,
compared with the kernel's own server; every bad input's message."""
from __future__ import annotations
import json, os, re, shutil, signal, subprocess, sys, time, urllib.parse, urllib.request
from contextlib import contextmanager
from pathlib import Path
import httpx, pytest
from fastcore.nbio import read_nb, write_nb
from harness import free_port, wait_http, serving

BIN = Path(sys.executable).parent

def fhnb(*args, cwd, timeout=120) -> subprocess.CompletedProcess:
    "Run `python -m fhnb ARGS` in `cwd`."
    return subprocess.run([sys.executable, '-m', 'fhnb', *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)

def error_of(r:subprocess.CompletedProcess, status:int) -> str:
    "The one-line error of a failed `fhnb` run, checking its status and that it has no traceback."
    assert r.returncode == status, f'exit {r.returncode}, expected {status}\n{r.stdout}\n{r.stderr}'
    assert 'Traceback' not in r.stderr, r.stderr
    return r.stderr.strip()

@pytest.fixture(scope='module')
def project(tmp_path_factory):
    "A project made by `fhnb new`, whose notebooks pass `nbdev-test` and which `fhnb export` exported."
    d = tmp_path_factory.mktemp('new')/'shop'
    r = fhnb('new', 'shop', '--path', d, cwd=d.parent)
    assert r.returncode == 0, r.stderr
    assert f'created {d}' in r.stdout
    t = subprocess.run([str(BIN/'nbdev-test')], cwd=d, capture_output=True, text=True, timeout=300)
    assert t.returncode == 0, t.stdout + t.stderr
    e = fhnb('export', cwd=d)
    assert e.returncode == 0, e.stderr
    assert 'GET      /' in e.stdout and 'POST     /add' in e.stdout, e.stdout
    return d

def copy_project(project:Path, tmp_path:Path) -> Path:
    "A scratch copy of `project` to break."
    d = tmp_path/'shop'
    shutil.copytree(project, d, ignore=shutil.ignore_patterns('data', '.sesskey', '__pycache__'))
    return d

def stop(p:subprocess.Popen, cwd:Path):
    "Ctrl-C, as in a terminal: `fhnb serve` must stop by itself, with status 0 and no traceback."
    p.send_signal(signal.SIGINT)
    assert p.wait(20) == 0
    assert 'Traceback' not in (cwd/'serve.err').read_text()

def request(url:str, data:dict|None=None, hx:bool=False) -> str:
    "GET `url`, or POST the form `data` (as HTMX would when `hx`); the body."
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={'HX-Request': 'true'} if hx else {})
    with urllib.request.urlopen(req, timeout=30) as r: return r.read().decode()

def normal(html:str, base:str, drop=()) -> str:
    "`html` with the server's own address and fhnb's injected snippets taken out, whitespace between tags collapsed."
    for s in drop: html = html.replace(s, '')
    return re.sub(r'>\s+<', '><', html.replace(urllib.parse.urlsplit(base).netloc, 'HOST')).strip()

def diff(a:str, b:str) -> str:
    "Where `fhnb serve`'s page `a` differs from the kernel's `b`, tag by tag."
    import difflib
    return '\n'.join(difflib.unified_diff(a.replace('><', '>\n<').splitlines(), b.replace('><', '>\n<').splitlines(), 'fhnb serve', 'kernel', lineterm=''))

def kernel_server(kernel, project:Path) -> tuple[str, list[str]]:
    "Run the project's app notebook in `kernel`, as a user would; the kernel server's URL and what it adds to pages."
    cells = [c.source for c in read_nb(project/'nbs'/'00_app.ipynb').cells if c.cell_type == 'code']
    assert any('serve_nb(app)' in s for s in cells)
    kernel.ok(f'import os; os.chdir({str(project/"nbs")!r})')
    for src in cells: kernel.ok(src)
    # FastHTML itself adds its `iframe_scr` to apps made in a notebook; the exported app, made outside one, has none
    r = kernel.ok('import json; from fasthtml.core import iframe_scr; srv = serve_nb(app); '
                  'print(json.dumps([srv.url, [*srv.head_snippets, to_xml(iframe_scr).strip()]]))')
    url, snippets = json.loads(r.stdout.strip().splitlines()[-1])
    return url.rstrip('/'), snippets

def exchange(url:str) -> list[str]:
    "The same requests to any server of the app: the page, an HTMX post of the fragment route, the page again."
    return [request(url + '/'), request(url + '/add', dict(title='Milk'), hx=True), request(url + '/')]

def test_new_project_served_as_in_the_kernel(project, kernel, tmp_path):
    k_url, snippets = kernel_server(kernel, project)
    from_kernel = [normal(h, k_url, snippets) for h in exchange(k_url)]
    kernel.ok('for i in items(): items.delete(i.id)')   # one database for both: start the served exchange from the same empty list
    with serving('--port', 0, cwd=project) as (url, p):
        served = [normal(h, url) for h in exchange(url)]
        for a, b in zip(served, from_kernel): assert a == b, diff(a, b)
        assert served[1] == '<li>Milk</li>'
        assert '<li>Milk</li>' in served[2] and '/_fhnb/static/' in served[0]
        stop(p, project)

def test_notebook_and_served_app_share_one_database(kernel, project, tmp_path):
    "The kernel (cwd nbs/) adds an item; `fhnb serve` (started in the project, working in nbs/) lists it: one project, one database."
    d = copy_project(project, tmp_path)
    kernel_server(kernel, d)
    kernel.ok("items.insert(title='added in the notebook')")
    assert not (d/'data').exists() and (d/'nbs'/'data'/'items.db').is_file()
    with serving('--port', 0, cwd=d) as (url, p):
        assert '<li>added in the notebook</li>' in request(url + '/')
        request(url + '/add', dict(title='added in the served app'), hx=True)
    assert kernel.ok('print([i.title for i in items()])').stdout.strip() == "['added in the notebook', 'added in the served app']"

def test_a_new_projects_ci_script_passes(project, tmp_path, chromium):
    "`sh ci.sh` in a new project: nbdev-test, fhnb export and fhnb check (Chromium) pass; its data is untouched."
    d = copy_project(project, tmp_path)
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}", 'PYTHONPATH': str(d)}
    r = subprocess.run(['sh', 'ci.sh'], cwd=d, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'fhnb check: shop.app:app: no findings' in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert not (d/'nbs'/'data'/'items.db').exists()   # nbdev-test and fhnb check worked on scratch copies

COVERS = """
@rt('/covers/{n}')
def post(n:int, data:str):
    Path('data/covers').mkdir(parents=True, exist_ok=True)
    Path(f'data/covers/{n}.txt').write_text(data)
    return P('saved')

@rt('/covers/{n}')
def get(n:int): return FileResponse(f'data/covers/{n}.txt')"""

def test_a_file_written_in_the_kernel_is_served_by_fhnb_serve(kernel, project, tmp_path):
    "A route writes `data/covers/3.txt` (relative) through the kernel's server; `fhnb serve` answers it from the same file, with one `.sesskey`."
    d = copy_project(project, tmp_path)
    add_to_cell(d, '#| export\n@rt(\'/add\')', '\n\n' + COVERS)
    assert fhnb('export', cwd=d).returncode == 0
    k_url, _ = kernel_server(kernel, d)
    assert request(k_url + '/covers/3', dict(data='cover three'), hx=True).strip() == '<p>saved</p>'
    assert (d/'nbs'/'data'/'covers'/'3.txt').read_text() == 'cover three'   # the kernel works in nbs/
    with serving('--port', 0, cwd=d) as (url, p):
        assert f'fhnb serve: works in {(d/"nbs").resolve()} (the folder of nbs/00_app.ipynb, which defines the app)' in (d/'serve.out').read_text()
        assert request(url + '/covers/3') == 'cover three'
    assert sorted(f.relative_to(d) for f in d.rglob('.sesskey')) == [Path('nbs/.sesskey')]
    assert not (d/'data'/'covers').exists()

def test_serve_root_setting(project, tmp_path):
    "`FHNB_ROOT` names the folder `fhnb serve` works in; one that is not a folder is one line."
    env = {k: v for k, v in os.environ.items() if not k.startswith('FHNB_')}
    run = lambda root: subprocess.run([sys.executable, '-m', 'fhnb', 'serve', '--port', '0'], cwd=project, env={**env, 'FHNB_ROOT': str(root)},
                                      capture_output=True, text=True, timeout=60)
    assert error_of(run(tmp_path/'nope'), 2) == f"fhnb serve: root = {str(tmp_path/'nope')!r}: {tmp_path/'nope'} is not a folder; create (or mount) it, or fix FHNB_ROOT or settings.ini [fhnb] root"

def test_offline_flag(project):
    with serving('--port', 0, '--no-offline', cwd=project) as (url, p):
        page = request(url + '/')
        assert 'cdn.jsdelivr.net' in page and '/_fhnb/static/' not in page
    with serving('--port', 0, cwd=project) as (url, p):
        page = request(url + '/')
        assert 'cdn.jsdelivr.net/npm/htmx' not in page
        asset = re.search(r'src="(/_fhnb/static/[^"]*htmx[^"]*)"', page).group(1)
        assert 'htmx' in request(url + asset)

WORKER_APP = '''import os
from fasthtml.common import *
app, rt, notes, Note = fast_app('data/notes.db', notes=dict(id=int, text=str, pk='id'))
@rt('/')
def get(): return Div(P(os.getpid(), id='pid'), *[P(n.text, cls='note') for n in notes()])
@rt('/add')
def post(text:str): notes.insert(text=text); return P(os.getpid(), id='pid')
'''

LOCKED_APP = "from fasthtml.common import *\napp, rt, notes, Note = fast_app('app.db', notes=dict(id=int, text=str, pk='id'))\n"

def test_an_app_opening_a_locked_database_waits_for_it(tmp_path):
    "Workers open the app's database together, and apsw's open hooks (WAL, `pragma optimize`) may meet another's lock: wait, don't die."
    import sqlite3
    (tmp_path/'lapp.py').write_text(LOCKED_APP)
    con = sqlite3.connect(tmp_path/'app.db', isolation_level=None)
    con.execute('create table other(x)'); con.execute('begin exclusive')
    p = subprocess.Popen([sys.executable, '-c', "from fhnb.cli import load_app; print(load_app('lapp:app', '.').routes[0].path)"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)   # time to import FastHTML and reach the locked file
        assert p.poll() is None, p.communicate()
    finally: con.execute('rollback'); con.close()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and 'BusyError' not in err, err

def test_workers_share_rows(tmp_path):
    (tmp_path/'wapp.py').write_text(WORKER_APP)
    with serving('wapp:app', '--workers', 2, '--port', 0, cwd=tmp_path) as (url, p):
        writer = re.search(r'id="pid">(\d+)<', request(url + '/add', dict(text='from one worker'), hx=True)).group(1)
        end = time.monotonic() + 30   # the second worker may still be starting: keep asking until it answers
        while time.monotonic() < end:   # each request is a new connection; the kernel hands it to either worker
            page = request(url + '/')
            reader = re.search(r'id="pid">(\d+)<', page).group(1)
            if reader != writer: break
            time.sleep(0.01)
        assert reader != writer, 'every request went to one worker'
        assert 'from one worker' in page
        stop(p, tmp_path)

def test_reload_serves(project):
    with serving('--port', 0, '--reload', cwd=project) as (url, p):
        assert '<h1>shop</h1>' in request(url + '/')
        stop(p, project)

# --- bad input: each has its one-line message ---

def test_new_refuses_non_empty_folder(project):
    assert error_of(fhnb('new', 'shop', '--path', project, cwd=project.parent), 2) == \
        f'fhnb new: {project} is not empty: choose a new or empty folder (fhnb new shop --path DIR)'

@pytest.mark.parametrize('name,msg', [('2shop', 'starting with a letter'), ('my shop', 'use letters, digits'),
                                      ('json', 'already a module'), ('class', 'use letters, digits')])
def test_new_refuses_bad_names(tmp_path, name, msg):
    err = error_of(fhnb('new', name, cwd=tmp_path), 2)
    assert err.startswith(f'fhnb new: project name {name!r}: ') and msg in err
    assert list(tmp_path.iterdir()) == []

def add_to_cell(project:Path, find:str, extra:str):
    "Append `extra` to the app notebook's cell containing `find`; its cell number (from 1)."
    nb = read_nb(project/'nbs'/'00_app.ipynb')
    i, c = next((i, c) for i, c in enumerate(nb.cells) if find in c.source)
    c.source += '\n' + extra
    write_nb(nb, project/'nbs'/'00_app.ipynb')
    return i + 1, c.source.count('\n') + 1

@pytest.mark.parametrize('call', ['serve_nb(app)', "preview('/')", 'Preview()', 'import fhnb', 'fhnb.serve_nb(app)'])
def test_export_refuses_notebook_only_calls(project, tmp_path, call):
    d = copy_project(project, tmp_path)
    before = (d/'shop'/'app.py').read_text()
    cell, line = add_to_cell(d, "@rt('/add')", call)
    err = error_of(fhnb('export', cwd=d), 1)
    what = {'import fhnb': 'import of fhnb', 'fhnb.serve_nb(app)': 'fhnb.serve_nb()'}.get(call, call.split('(')[0] + '()')
    assert f'fhnb export: nbs/00_app.ipynb cell {cell} line {line}: {what} is notebook-only; move it to a cell without #| export' in err.splitlines()
    assert (d/'shop'/'app.py').read_text() == before   # nothing written

def test_export_allows_fasthtml_serve(project, tmp_path):
    d = copy_project(project, tmp_path)
    add_to_cell(d, "@rt('/add')", 'serve()')
    r = fhnb('export', cwd=d)
    assert r.returncode == 0, r.stderr
    assert 'POST     /add' in r.stdout

def test_export_allows_the_notebooks_own_names(project, tmp_path):
    d = copy_project(project, tmp_path)
    add_to_cell(d, '#| export\nfrom fasthtml.common import *', 'def preview(x): return x')
    add_to_cell(d, "@rt('/add')", "preview('a name of this notebook, not fhnb')")
    r = fhnb('export', cwd=d)
    assert r.returncode == 0, r.stderr

def test_export_names_syntax_errors(project, tmp_path):
    d = copy_project(project, tmp_path)
    cell, line = add_to_cell(d, "@rt('/add')", 'def broken(:')
    assert error_of(fhnb('export', cwd=d), 1) == f'fhnb export: nbs/00_app.ipynb cell {cell} line {line}: SyntaxError: invalid syntax (in an exported cell)'

def test_export_refuses_app_loading_jupyter(project, tmp_path):
    d = copy_project(project, tmp_path)
    cell, line = add_to_cell(d, '#| export\nfrom fasthtml.common import *', 'import ipywidgets')
    assert error_of(fhnb('export', cwd=d), 1) == ('fhnb export: shop.app:app loads ipywidgets when imported (first imported at shop/app.py:8); '
                                                   'exported code must not import fhnb or Jupyter packages')

def test_export_names_app_import_errors(project, tmp_path):
    d = copy_project(project, tmp_path)
    (d/'settings.ini').write_text((d/'settings.ini').read_text().replace('app = shop.app:app', 'app = shop.app:nope'))
    assert error_of(fhnb('export', cwd=d), 1) == "fhnb export: shop.app:nope does not import: module shop.app has no attribute 'nope'"

def test_export_hints_nbdev2_migration(tmp_path):
    (tmp_path/'settings.ini').write_text('[DEFAULT]\nlib_name = old\nlib_path = old\n')
    assert error_of(fhnb('export', cwd=tmp_path), 2) == \
        f'fhnb export: {tmp_path/"settings.ini"} is an nbdev 2 config (lib_name, no [tool.nbdev] in pyproject.toml): run nbdev-migrate-config in {tmp_path}, then fhnb export'

def test_export_outside_a_project(tmp_path):
    assert 'no pyproject.toml with [tool.nbdev]' in error_of(fhnb('export', cwd=tmp_path), 2)

@pytest.mark.parametrize('args,msg', [
    (['shop.nope:app'], "no module named 'shop.nope' (app 'shop.nope:app'): run fhnb export, or fix app in settings.ini [fhnb]"),
    (['nothere:app'], "no module named 'nothere' (app 'nothere:app'): run fhnb export, or fix app in settings.ini [fhnb]"),
    (['shop.app:nope'], "module 'shop.app' has no attribute 'nope' (app 'shop.app:nope')"),
    (['shop.app'], "app 'shop.app': expected MODULE:APP, e.g. myapp.app:app"),
    (['--workers', '0'], '--workers 0: expected 1 or more'),
    (['--host', '192.0.2.1'], "--host '192.0.2.1': not an address of this machine; use e.g. 127.0.0.1"),  # TEST-NET-1: never local
])
def test_serve_bad_input(project, args, msg):
    assert error_of(fhnb('serve', '--port', 0, *args, cwd=project), 2) == f'fhnb serve: {msg}'

def test_serve_port_taken(project):
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen()
        port = s.getsockname()[1]
        assert error_of(fhnb('serve', '--port', port, cwd=project), 2) == \
            f'fhnb serve: port {port} on 127.0.0.1 is taken: pass --port 0 for any free port, or another port'

def test_serve_without_app(tmp_path):
    assert error_of(fhnb('serve', cwd=tmp_path), 2) == 'fhnb serve: no app to serve: pass MODULE:APP, or set app = pkg.module:app in settings.ini [fhnb]'

def test_bad_setting_is_one_line(project, tmp_path):
    d = copy_project(project, tmp_path)
    (d/'settings.ini').write_text((d/'settings.ini').read_text().replace('offline = true', 'offline = maybe'))
    assert error_of(fhnb('serve', cwd=d), 2) == f"fhnb serve: {d/'settings.ini'} [fhnb] offline = 'maybe': expected true or false"

@pytest.mark.parametrize('data,msg', [
    (b'[fhnb\nport = 8000\n', "line 1: '[fhnb' is not a section header: write it as [fhnb]"),
    (b'[fhnb]\napp = caf\xe9.app:app\n', 'line 2: byte 0xe9 is not UTF-8; save the file as UTF-8'),
    (b'[fhnb]\nport 8000\n', "line 2: 'port 8000' is not `key = value`, a [section] or a # comment"),
], ids=['header', 'latin-1', 'no-equals'])
def test_unreadable_settings_file_is_one_line(tmp_path, data, msg):
    "A settings.ini fhnb cannot read stops every command with its line, instead of running on the defaults."
    (tmp_path/'nbs').mkdir()
    (tmp_path/'settings.ini').write_bytes(data)
    assert error_of(fhnb('settings', cwd=tmp_path/'nbs'), 2) == f"fhnb settings: {tmp_path/'settings.ini'} {msg}"
    assert error_of(fhnb('serve', cwd=tmp_path), 2) == f"fhnb serve: {tmp_path/'settings.ini'} {msg}"

def test_settings_file_with_a_byte_order_mark(tmp_path):
    (tmp_path/'settings.ini').write_text('[fhnb]\nport = 8123\n', encoding='utf-8-sig')
    r = fhnb('settings', cwd=tmp_path)
    assert r.returncode == 0 and 'port = 8123' in r.stdout.splitlines(), r.stderr

@pytest.mark.parametrize('text,msg', [
    ('{"cells": [', 'is not valid notebook JSON at line 1 column 12 (Expecting value): restore it from git, or open and save it in JupyterLab'),
    ('', 'is not valid notebook JSON at line 1 column 1 (Expecting value): restore it from git, or open and save it in JupyterLab'),
    ('{"metadata": {}, "nbformat": 4}', 'has no list of cells (each with cell_type and source): it is not a Jupyter notebook; restore it from git, or delete it'),
], ids=['cut', 'empty', 'no-cells'])
def test_export_names_a_notebook_that_is_not_one(project, tmp_path, text, msg):
    d = copy_project(project, tmp_path)
    before = (d/'shop'/'app.py').read_text()
    (d/'nbs'/'01_broken.ipynb').write_text(text)
    assert error_of(fhnb('export', cwd=d), 1) == f'fhnb export: nbs/01_broken.ipynb {msg}'
    assert (d/'shop'/'app.py').read_text() == before   # nothing written

def test_export_names_the_cell_of_an_import_that_hangs(project, tmp_path):
    d = copy_project(project, tmp_path)
    (d/'settings.ini').write_text((d/'settings.ini').read_text() + 'probe_timeout = 8\n')
    cell, line = add_to_cell(d, "@rt('/add')", 'while True: pass')
    cid = read_nb(d/'nbs'/'00_app.ipynb').cells[cell-1].id
    assert error_of(fhnb('export', cwd=d), 1) == (f'fhnb export: shop.app:app does not import: nbs/00_app.ipynb cell {cell} (id {cid}) line {line}: '
                                                   'import took longer than 8s (probe_timeout in settings.ini)')

def children(pid:int) -> list[int]:
    "The processes whose parent is `pid`, from /proc."
    res = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try: fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError: continue
        if int(fields[1]) == pid: res.append(int(stat.parent.name))
    return res

def alive(pid:int) -> bool:
    "Is process `pid` running (not gone, not a zombie waiting for a reaper)?"
    try: return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError: return False

def port_open(port:int) -> bool:
    import socket
    with socket.socket() as s: return s.connect_ex(('127.0.0.1', port)) == 0

HANGS = {'loop': "open({marker!r}, 'w').close()\nwhile True: pass",
         'uvicorn': "import uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port})"}

@pytest.mark.parametrize('sig,hang', [(signal.SIGTERM, 'loop'), (signal.SIGHUP, 'uvicorn'), (signal.SIGKILL, 'loop')], ids=['term-loop', 'hup-uvicorn', 'kill-loop'])
def test_export_probe_dies_with_fhnb_export(project, tmp_path, sig, hang):
    "An exported cell that never returns keeps the probe importing; ending `fhnb export` ends the probe too: no CPU burnt, no port kept."
    d, port, marker = copy_project(project, tmp_path), free_port(), tmp_path/'hanging'
    add_to_cell(d, "@rt('/add')", HANGS[hang].format(marker=str(marker), port=port))
    p = subprocess.Popen([sys.executable, '-m', 'fhnb', 'export'], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 120
        while not (marker.exists() if hang == 'loop' else port_open(port)):
            assert p.poll() is None and time.monotonic() < end, 'the probe never reached the hanging cell'
            time.sleep(0.1)
        probes = children(p.pid)
        assert probes and all(map(alive, probes))
    finally:
        p.send_signal(sig); p.wait(20)
    end = time.monotonic() + 10
    while any(map(alive, probes)) and time.monotonic() < end: time.sleep(0.1)
    assert not any(map(alive, probes)), f'probe {probes} outlived fhnb export'
    assert not port_open(port)

def test_export_notes_a_hand_built_document(project, tmp_path):
    "A route returning `Html(...)` exports with a note; the note's reason holds: plain uvicorn sends that page without htmx."
    d = copy_project(project, tmp_path)
    cell, line = add_to_cell(d, "@rt('/add')", "@rt('/page')\ndef get(): return Html(Head(Title('Page')), Body(Button('Ping', hx_post='/add')))")
    r = fhnb('export', cwd=d)
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stdout.splitlines() if l.startswith('note: ')]
    assert notes == [f"note: nbs/00_app.ipynb cell {cell} line {line}: route /page returns a hand-built Html(...) document; plain FastHTML under uvicorn "
                     "sends it as written, without the app's headers (no htmx script: its hx-* attributes do nothing); fhnb serve and the preview add them. "
                     "To work under plain FastHTML too, return components, e.g. Title(...), Main(...), and FastHTML wraps them in a page with its headers"]
    port = free_port()
    p = subprocess.Popen([sys.executable, '-m', 'uvicorn', 'shop.app:app', '--port', str(port)], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f'http://127.0.0.1:{port}/page', proc=p)
        page = request(f'http://127.0.0.1:{port}/page')
        assert 'hx-post="/add"' in page and 'htmx' not in page
        assert 'htmx' in request(f'http://127.0.0.1:{port}/')   # the template's own page returns components
    finally: p.terminate(); p.wait(10)

def test_export_of_a_new_project_has_no_notes(project):
    assert 'note:' not in fhnb('export', cwd=project).stdout

@pytest.mark.venv
def test_new_project_installs_as_its_readme_says(tmp_path):
    "The generated README's steps, run as written in a fresh virtual environment (pip fetches the libraries from the package index: minutes)."
    d = tmp_path/'shop'
    assert fhnb('new', 'shop', '--path', d, cwd=tmp_path).returncode == 0
    block = re.search(r'```sh\n(.*?)```', (d/'README.md').read_text(), re.S).group(1)
    steps = [l for l in block.splitlines() if not l.startswith(('fhnb lab', 'fhnb serve'))]   # those two run until stopped
    assert steps[0].startswith('python3 -m venv .venv') and 'fhnb export' in steps[-1]
    script = 'set -e\n' + '\n'.join(steps) + '\npython -c "import shop.app, fhnb, sys; print(sys.prefix)"\n'
    path = os.pathsep.join(p for p in os.environ['PATH'].split(os.pathsep) if not p.startswith(sys.prefix))   # not this test's environment
    env = {**{k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}, 'PATH': path}
    r = subprocess.run(['bash', '-c', script], cwd=d, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'shop.app:app imports without Jupyter' in r.stdout and r.stdout.strip().endswith(str(d/'.venv')), r.stdout[-3000:]

def test_export_lints_the_apps_pages(project, tmp_path):
    "A misspelled hx-* attribute and a URL no route answers, in an exported page: `fhnb export` names each, with its route, and still exports."
    d = copy_project(project, tmp_path)
    add_to_cell(d, "@rt('/add')", "@rt('/typos')\ndef get(): return Titled('Typos', Button('Go', hx_gte='/'), Button('Add', hx_post='/ad'))")
    r = fhnb('export', cwd=d)
    assert r.returncode == 0, r.stderr
    lint = [l for l in r.stdout.splitlines() if l.startswith('htmx: ')]
    assert lint == ['htmx: route /typos: <button> "Go" hx-gte: not an htmx attribute; did you mean hx-get?',
                    """htmx: route /typos: <button> "Add" hx-post="/ad": POST /ad: no route matches (the app's POST routes: /add)"""], r.stdout

def test_export_of_a_new_project_lints_clean(project):
    assert 'htmx:' not in fhnb('export', cwd=project).stdout

def test_fhnb_lab_opens_the_app_notebook(project):
    "`fhnb lab` in a new project: JupyterLab's front page goes to nbs/00_app.ipynb, not to the Launcher at the root."
    port, token = free_port(), 'fhnb-lab-test'
    p = subprocess.Popen([sys.executable, '-m', 'fhnb', 'lab', '--port', str(port), f'--IdentityProvider.token={token}'],
                         cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=90, proc=p)
        r = httpx.get(f'http://127.0.0.1:{port}/?token={token}', follow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers['location'].startswith('/lab/tree/nbs/00_app.ipynb'), r.headers
    finally:
        p.terminate()
        try: p.wait(15)
        except subprocess.TimeoutExpired: p.kill(); p.wait()
    with pytest.raises(httpx.ConnectError): httpx.get(f'http://127.0.0.1:{port}/api/status', timeout=5)   # stopping `fhnb lab` stopped JupyterLab

def test_fhnb_settings_lists_every_key(project):
    out = fhnb('settings', cwd=project).stdout
    for key in ('host', 'port', 'app', 'offline', 'preview_height', 'proxy', 'allowed_hosts', 'probe_timeout', 'database'): assert f'\n{key} = ' in '\n' + out, key
