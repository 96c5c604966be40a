"""The `database` setting on a real PostgreSQL (a throwaway cluster): the seed's MiniDataAPI calls and the exported
examples alike on SQLite and PostgreSQL, nothing lost under concurrent writes, the notebook's display and previews,
and `fhnb serve`'s checks (session key, unreachable database)."""
from __future__ import annotations
import json, os, re, subprocess, sys, textwrap, threading, time, uuid
from pathlib import Path
import httpx, pytest
from bs4 import BeautifulSoup
from harness import Kernel, serving
from services import postgres, psql
from test_examples import test_todos_every_action_per_user as todos_every_action, soup, HX, login, titles

KEY = 'test-key-' + 'x' * 40

@pytest.fixture(scope='module')
def cluster():
    with postgres() as url: yield url

def fresh_db(cluster:str) -> str:
    "A new empty database in `cluster`; its URL."
    name = 'db_' + uuid.uuid4().hex[:12]
    psql(cluster, f'create database {name}')
    return cluster.rsplit('/', 1)[0] + '/' + name

@pytest.fixture(params=['sqlite', 'postgresql'])
def backend(request, monkeypatch) -> str|None:
    "Each backend in turn: the app's own SQLite file, or a fresh PostgreSQL database (FHNB_DATABASE); its URL or None."
    monkeypatch.setenv('FHNB_SECRET_KEY', KEY)
    if request.param == 'sqlite':
        monkeypatch.delenv('FHNB_DATABASE', raising=False)
        return None
    url = fresh_db(request.getfixturevalue('cluster'))
    monkeypatch.setenv('FHNB_DATABASE', url)
    return url

# --- The seed's MiniDataAPI calls --------------------------------------------------------------------

SEED_OPS = '''
import json, os
from fasthtml.common import *
from fastlite import NotFoundError
app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, priority=int, owner=str, pk='id'))
out = {}
def row(t): return [t.id, t.title, bool(t.done), t.priority, t.owner]
a = todos.insert(title='Write report', done=False, priority=2, owner='ann')
b = todos.insert(Todo(title='Water plants', done=False, priority=1, owner='ann'))
c = todos.insert(title='Call mum', done=True, priority=3, owner='bob')
out['insert'] = [row(a), row(b), row(c)]
out['get'] = row(todos[b.id])
try: todos[999]
except NotFoundError as e: out['missing'] = str(e)
out['where'] = [row(t) for t in todos(where='priority > ?', where_args=[1], order_by='priority desc', limit=5)]
out['limit'] = [t.title for t in todos(order_by='priority', limit=2)]
out['all'] = [t.id for t in todos()]
out['update'] = row(todos.update(id=a.id, done=True))
out['count'] = todos.count
todos.xtra(owner='ann')
out['xtra'] = [t.title for t in todos()]
try: todos[c.id]
except NotFoundError as e: out['xtra_get'] = str(e)
try: todos.update(id=c.id, title='stolen')
except NotFoundError: out['xtra_update'] = 'NotFoundError'
try: todos.delete(c.id)
except NotFoundError as e: out['xtra_delete'] = str(e)
out['xtra_insert'] = todos.insert(title='Mine', done=False, priority=0).owner
todos.delete(b.id)
todos.xtra_id = {}
try: todos.delete(b.id)
except NotFoundError as e: out['delete_missing'] = str(e)
try: todos(where='no_such_column = 1')
except Exception as e: out['bad_sql'] = 'no_such_column' in str(e)
out['after_bad'] = [t.title for t in todos()]
out['len'] = len(todos)
print(json.dumps(out))
'''

SEED_EXPECTED = {
    'insert': [[1, 'Write report', False, 2, 'ann'], [2, 'Water plants', False, 1, 'ann'], [3, 'Call mum', True, 3, 'bob']],
    'get': [2, 'Water plants', False, 1, 'ann'],
    'missing': "table 'todos' has no row with id=999",
    'where': [[3, 'Call mum', True, 3, 'bob'], [1, 'Write report', False, 2, 'ann']],
    'limit': ['Water plants', 'Write report'],
    'all': [1, 2, 3],
    'update': [1, 'Write report', True, 2, 'ann'],
    'count': 3,
    'xtra': ['Write report', 'Water plants'],
    'xtra_get': "table 'todos' has no row with id=3 (scoped by owner='ann')",
    'xtra_update': 'NotFoundError',
    'xtra_delete': "table 'todos' has no row with id=3 (scoped by owner='ann')",
    'xtra_insert': 'ann',
    'delete_missing': "table 'todos' has no row with id=2",
    'bad_sql': True,
    'after_bad': ['Write report', 'Call mum', 'Mine'],
    'len': 3,
}

def test_seed_minidata_calls_alike(backend, tmp_path):
    "insert, t[pk], t(where, order_by, limit), update, delete, xtra, errors: the same results on SQLite and PostgreSQL, the app's code unchanged."
    (tmp_path/'ops.py').write_text(SEED_OPS)
    r = subprocess.run([sys.executable, '-c', 'import fhnb.tables; fhnb.tables.fix_tables(); import ops'], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == SEED_EXPECTED, {k: (got.get(k), v) for k, v in SEED_EXPECTED.items() if got.get(k) != v}
    assert (tmp_path/'data'/'todos.db').exists() == (backend is None)   # on PostgreSQL no SQLite file appears

# --- The exported examples --------------------------------------------------------------------------

def test_todos_example_on_both_backends(backend, tmp_path):
    with serving('fhnb.examples.todos:app', '--port', '0', cwd=tmp_path) as (url, _):
        todos_every_action(url)
    if backend:
        assert psql(backend, "select title from todos where owner = 'ann' order by id") == 'Write report\nFix the roof'
        assert not list(tmp_path.rglob('*.db'))

def test_welcome_example_on_both_backends(backend, tmp_path):
    with serving('fhnb.examples.welcome:app', '--port', '0', cwd=tmp_path) as (url, _), httpx.Client(base_url=url) as c:
        for name in ['ann', 'bob', 'ann']:   # a table without pk takes the same name twice on both
            assert soup(c.post('/welcome', data={'username': name}, headers=HX)).p.text == f'Welcome {name}!'
        assert [li.text for li in soup(c.get('/')).select('#visitors li')] == ['ann', 'bob', 'ann']
    assert (tmp_path/'data'/'visitors.db').exists() == (backend is None)

# --- Many processes, one database --------------------------------------------------------------------

RACE_APP = '''import sys, time
from fasthtml.common import *
time.sleep(max(0, float(sys.argv[1]) - time.time()))   # every process reaches fast_app at the same moment
app, rt, (a, A), (b, B), (c, C) = fast_app('data/x.db', tbls=dict(a=dict(id=int, x=str, pk='id'), b=dict(id=int, y=int, pk='id'), c=dict(name=str, pk='name')))
print(len(a()), len(b()), len(c()))
'''

def test_processes_starting_together_create_tables_once(cluster, tmp_path, monkeypatch):
    "Eight processes declaring the same tables at the same instant all start (fastsql alone: UniqueViolation on pg_type)."
    url = fresh_db(cluster)
    monkeypatch.setenv('FHNB_DATABASE', url)
    (tmp_path/'race.py').write_text(RACE_APP)
    at = str(time.time() + 6)
    ps = [subprocess.Popen([sys.executable, '-c', f'import sys, fhnb.tables; fhnb.tables.fix_tables(); sys.argv[1:] = [{at!r}]; import race'], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    outs = [p.communicate(timeout=120) for p in ps]
    assert [p.returncode for p in ps] == [0] * 8, [e[-500:] for _, e in outs if e]
    assert {o.strip() for o, _ in outs} == {'0 0 0'}
    assert psql(url, "select string_agg(tablename, ' ' order by tablename) from pg_tables where schemaname = 'public'") == 'a b c'

def test_nothing_lost_8x500_posts_and_2000_cell_inserts_on_postgresql(cluster, tmp_path, monkeypatch):
    url = fresh_db(cluster)
    monkeypatch.setenv('FHNB_DATABASE', url)
    with Kernel(cwd=tmp_path) as k:   # started after FHNB_DATABASE is set: the kernel has it
        k.ok(textwrap.dedent('''
            from fasthtml.common import *
            from fhnb import *
            app, rt, todos, Todo = fast_app('todos.db', todos=dict(id=int, title=str, pk='id'))
            @rt('/add')
            def post(title:str): return P(todos.insert(title=title).title)
            srv = serve_nb(app)'''))
        port = int(k.ok('print(srv.port)').stdout)
        statuses, errors = [], []
        def client(i):
            with httpx.Client(timeout=60) as c:
                for j in range(500):
                    try: statuses.append(c.post(f'http://127.0.0.1:{port}/add', data={'title': f'req {i}.{j}'}).status_code)
                    except Exception as e: errors.append(repr(e))
        ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in ts: t.start()
        k.ok('cell_errors = []\nfor i in range(2000):\n    try: todos.insert(title=f"cell {i}")\n    except Exception as e: cell_errors.append(repr(e))', timeout=300)
        for t in ts: t.join()
        assert errors == [] and statuses.count(200) == 4000, (errors[:3], [s for s in statuses if s != 200][:3])
        r = json.loads(k.ok('import json; print(json.dumps([todos.count, cell_errors[:3], [e["error"] for e in srv.log if e["error"]][:3]]))').stdout)
        assert r == [6000, [], []], r
        assert psql(url, 'select count(*), count(distinct title) from todos') == '6000|6000'
        assert not list(tmp_path.rglob('*.db'))

# --- The notebook ---------------------------------------------------------------------------------------

def test_notebook_tables_display_and_previews_refresh_on_postgresql(cluster, tmp_path, monkeypatch):
    "A notebook with `database` set: its table shows inline from PostgreSQL, and a cell's write reloads live previews."
    url = fresh_db(cluster)
    monkeypatch.setenv('FHNB_DATABASE', url)
    with Kernel(cwd=tmp_path) as k:   # started after FHNB_DATABASE is set: the kernel has it
        k.ok(textwrap.dedent('''
            from fasthtml.common import *
            from fhnb import *
            app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, pk='id'))
            @rt('/')
            def get(): return Ul(*[Li(t.title) for t in todos()])
            serve_nb(app)
            p = preview('/')'''))
        shown = k.ok('todos.insert(title="first")\ntodos')
        html = next(o['text/html'] for o in shown.outputs if 'text/html' in o)
        assert 'first' in html and 'todos' in html and '1 row' in html, html
        assert k.ok('print(p.bump)').stdout.strip() == '1'                      # the cell wrote: the preview reloaded
        assert k.ok('x = 1').outputs == [] and k.ok('print(p.bump)').stdout.strip() == '1'   # a cell that writes nothing: no reload
        k.ok('todos.delete(1)')
        assert k.ok('print(p.bump)').stdout.strip() == '2'
        assert psql(url, 'select count(*) from todos') == '0'

# --- The session key ------------------------------------------------------------------------------------

def test_secret_key_from_environment_signs_sessions(tmp_path):
    "FHNB_SECRET_KEY is the key of fast_app's session middleware; no .sesskey file is made; an explicit secret_key still wins."
    code = textwrap.dedent('''
        import fhnb.tables; fhnb.tables.fix_tables()
        from fasthtml.common import fast_app
        key = lambda app: next(m.kwargs['secret_key'] for m in app.user_middleware if m.cls.__name__ == 'SessionMiddleware')
        print(key(fast_app()[0]), key(fast_app(secret_key='mine')[0]))''')
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env={**os.environ, 'FHNB_SECRET_KEY': KEY},
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == [KEY, 'mine'], r.stderr
    assert not (tmp_path/'.sesskey').exists()

# --- fhnb serve's checks --------------------------------------------------------------------------------

def fhnb_serve(*args, cwd, env:dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'fhnb', 'serve', 'fhnb.examples.todos:app', *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)

def one_line_error(r) -> str:
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()

def test_serve_refuses_without_session_key(tmp_path, cluster):
    env = {k: v for k, v in os.environ.items() if k not in ('FHNB_SECRET_KEY', 'FHNB_DATABASE')}
    err = one_line_error(fhnb_serve('--host', '0.0.0.0', '--port', '0', cwd=tmp_path, env=env))
    assert err.startswith('fhnb serve: FHNB_SECRET_KEY is not set and --host 0.0.0.0 is beyond loopback') and 'export FHNB_SECRET_KEY=' in err, err
    err = one_line_error(fhnb_serve('--port', '0', cwd=tmp_path, env={**env, 'FHNB_DATABASE': cluster}))
    assert 'FHNB_SECRET_KEY is not set and database is PostgreSQL' in err, err
    assert not list(tmp_path.iterdir())   # refused before the app made anything

@pytest.mark.parametrize('bad,why', [('postgresql://fhnb:pw@127.0.0.1:{port}/fhnb', 'password authentication failed'),
                                     ('postgresql://fhnb:pw@127.0.0.1:1/fhnb', 'Connection refused'),
                                     ('postgresql://fhnb:pw@no-such-host.invalid:5432/fhnb', 'no-such-host.invalid')])
def test_serve_names_an_unreachable_database(tmp_path, cluster, bad, why):
    port = cluster.rsplit(':', 1)[1].split('/')[0]
    env = {**os.environ, 'FHNB_SECRET_KEY': KEY, 'FHNB_DATABASE': bad.format(port=port)}
    err = one_line_error(fhnb_serve('--port', '0', cwd=tmp_path, env=env))
    host = re.search(r'@([^/]+)/', bad.format(port=port)).group(1)
    assert err.startswith(f'fhnb serve: database fhnb@{host}/fhnb cannot be reached:') and why in err and ':pw@' not in err, err

SESSION_APP = """import os
from fasthtml.common import *
app, rt = fast_app()
@rt('/login')
def get(session): session['user'] = 'ann'; return P(os.getpid())
@rt('/')
def get(session): return P(f"{os.getpid()} {session.get('user')}")
"""

def test_workers_without_key_share_one_made_at_start(tmp_path, monkeypatch):
    "`--workers 2` without FHNB_SECRET_KEY: a login made in one worker holds in the other; no .sesskey file is raced for."
    monkeypatch.delenv('FHNB_SECRET_KEY', raising=False)
    monkeypatch.delenv('FHNB_DATABASE', raising=False)
    (tmp_path/'sapp.py').write_text(SESSION_APP)
    with serving('sapp:app', '--port', '0', '--workers', '2', cwd=tmp_path) as (url, _):
        with httpx.Client(base_url=url) as c: c.get('/login'); cookies = c.cookies
        seen, end = {}, time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < end:   # a new connection each time: the kernel hands it to either worker
            with httpx.Client(base_url=url, cookies=cookies) as fresh:
                pid, user = re.search(r'<p>(\d+) (\w+)</p>', fresh.get('/').text).groups()
            seen[pid] = user
        assert len(seen) == 2, f'every request went to one worker: {seen}'
        assert set(seen.values()) == {'ann'}, seen
    assert not (tmp_path/'.sesskey').exists()

# --- Users served at the same time ----------------------------------------------------------------------

def test_todos_users_at_once_see_only_their_own(backend, tmp_path):
    "8 users read and toggle at the same time: every answer is 200 and lists only that user's todos (`xtra` per request)."
    with serving('fhnb.examples.todos:app', '--port', '0', cwd=tmp_path) as (url, _):
        users = {}
        for u in [f'user{i}' for i in range(8)]:
            c = login(url, u)
            for j in range(3): frag = soup(c.post('/todos', data={'title': f'{u} {j}', 'priority': j}, headers=HX))
            users[u] = (c, [li['id'].removeprefix('todo-') for li in frag.select('#todo-list li')])
        bad = []
        def work(u):
            c, ids = users[u]
            for k in range(40):
                r = c.post(f'/todos/{ids[k % 3]}/toggle', headers=HX) if k % 2 else c.get('/')
                if r.status_code != 200 or {t.split()[0] for t in titles(BeautifulSoup(r.text, 'html.parser'))} != {u}: bad.append((u, k, r.status_code, r.text[:120]))
        ts = [threading.Thread(target=work, args=(u,)) for u in users]
        for t in ts: t.start()
        for t in ts: t.join()
        for c, _ in users.values(): c.close()
    assert bad == [], (len(bad), bad[:3])

# --- Missing services -------------------------------------------------------------------------------------

@pytest.mark.parametrize('require,outcome', [('0', '1 skipped'), ('1', '1 failed')])
def test_missing_postgres_skips_with_reason_or_fails_in_ci(tmp_path, require, outcome):
    "Without PostgreSQL's binaries a scale test skips naming what to install; with FHNB_REQUIRE_SERVICES=1 (CI) it fails."
    env = {**os.environ, 'FHNB_PG_BIN': str(tmp_path/'none'), 'FHNB_REQUIRE_SERVICES': require}
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-rsf', '-p', 'no:cacheprovider', str(Path(__file__).parent/'test_scale.py') + '::test_deploy_guide_through_nginx'],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in r.stdout and 'apt-get install postgresql' in r.stdout, r.stdout[-1500:]

# --- Connections ------------------------------------------------------------------------------------------

def connections(url:str) -> int:
    "Connections open to `url`'s database, other than the asking one."
    db = url.rsplit('/', 1)[1]
    return int(psql(url, f"select count(*) from pg_stat_activity where datname = '{db}' and pid <> pg_backend_pid()"))

def test_a_process_uses_at_most_15_connections_and_survives_dropped_ones(cluster, tmp_path, monkeypatch):
    "32 users posting at once through one `fhnb serve`: every write lands over at most 15 connections; after the server drops them all, the next request works."
    url = fresh_db(cluster)
    monkeypatch.setenv('FHNB_DATABASE', url)
    monkeypatch.setenv('FHNB_SECRET_KEY', KEY)
    with serving('fhnb.examples.todos:app', '--port', '0', cwd=tmp_path) as (app_url, _):
        clients = [login(app_url, f'u{i}') for i in range(32)]
        statuses, peak, done = [], [0], threading.Event()
        def post(c, i):
            for j in range(20): statuses.append(c.post('/todos', data={'title': f'{i}.{j}'}, headers=HX).status_code)
        def watch():
            while not done.is_set(): peak[0] = max(peak[0], connections(url))
        w = threading.Thread(target=watch); w.start()
        ts = [threading.Thread(target=post, args=(c, i)) for i, c in enumerate(clients)]
        for t in ts: t.start()
        for t in ts: t.join()
        done.set(); w.join()
        assert statuses == [200] * 640 and psql(url, 'select count(*) from todos') == '640'
        assert 0 < peak[0] <= 15, peak[0]
        psql(url, f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{url.rsplit('/', 1)[1]}' and pid <> pg_backend_pid()")
        assert soup(clients[0].post('/todos', data={'title': 'after'}, headers=HX)).select('#todo-list li')
        for c in clients: c.close()

# --- Bad configuration, one line ----------------------------------------------------------------------------

def test_serve_names_a_missing_driver(tmp_path, cluster):
    "A URL asking for another driver (psycopg2: the settings allow psycopg 3's only), or psycopg itself missing: one line, the fix, no password."
    env = {**os.environ, 'FHNB_SECRET_KEY': KEY, 'FHNB_DATABASE': cluster.replace('postgresql://', 'postgresql+psycopg2://')}
    err = one_line_error(fhnb_serve('--port', '0', cwd=tmp_path, env=env))
    assert err.startswith("fhnb serve: environment FHNB_DATABASE = 'postgresql+psycopg2://fhnb:***@127.0.0.1:") and 'no other scheme or driver' in err, err
    assert 'fhnb-test-pw' not in err
    no_psycopg = "import sys, runpy; sys.modules['psycopg'] = None; sys.argv[1:] = ['serve', 'fhnb.examples.todos:app', '--port', '0']; runpy.run_module('fhnb', run_name='__main__')"
    r = subprocess.run([sys.executable, '-c', no_psycopg], cwd=tmp_path, env={**env, 'FHNB_DATABASE': cluster}, capture_output=True, text=True, timeout=60)
    err = one_line_error(r)
    assert "needs the psycopg driver, which is not installed: pip install 'psycopg[binary]'" in err and 'fhnb-test-pw' not in err, err

def test_serve_names_a_table_that_differs_from_the_code(tmp_path, cluster):
    "A table whose columns differ from the app's spec: one line naming the table, each column and the SQL that fixes it; nothing changed."
    url = fresh_db(cluster)
    psql(url, 'create table todos (id serial primary key, title text, done boolean, priority text, owner text, secret text not null)')
    err = one_line_error(fhnb_serve('--port', '0', cwd=tmp_path, env={**os.environ, 'FHNB_SECRET_KEY': KEY, 'FHNB_DATABASE': url}))
    assert "table 'todos' in database fhnb@127.0.0.1:" in err and 'fhnb-test-pw' not in err, err
    assert "column 'priority' is TEXT there, int in the code (ALTER TABLE \"todos\" ALTER COLUMN \"priority\" TYPE INTEGER USING \"priority\"::INTEGER)" in err, err
    assert "column 'secret' (NOT NULL, no default) is not in the code" in err, err
    assert psql(url, "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) from information_schema.columns where table_name = 'todos'") == \
        'id integer, title text, done boolean, priority text, owner text, secret text'

def test_a_table_made_with_boolean_columns_keeps_working(tmp_path, cluster):
    "A `todos` table made by an earlier fhnb (PostgreSQL `boolean`): the app's rows read back 0/1, and `True`/1 write and query it, as on SQLite."
    url = fresh_db(cluster)
    psql(url, "create table todos (id serial primary key, title text, done boolean, priority integer, owner text); insert into todos (title, done, priority, owner) values ('Old', true, 1, 'ann')")
    code = textwrap.dedent('''
        import fhnb.tables; fhnb.tables.fix_tables()
        from fasthtml.common import fast_app
        app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, priority=int, owner=str, pk='id'))
        todos.insert(title='New', done=False, priority=2, owner='ann'); todos.update(id=1, done=1)
        print([(t.title, t.done) for t in todos()], [t.title for t in todos(where='done = ?', where_args=[True])])''')
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env={**os.environ, 'FHNB_DATABASE': url}, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[('Old', 1), ('New', 0)] ['Old']", r.stderr
    assert psql(url, "select data_type from information_schema.columns where table_name = 'todos' and column_name = 'done'") == 'boolean'
