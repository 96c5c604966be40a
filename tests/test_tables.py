"""fhnb.tables: the pk-less insert fix, named errors, inline display in a real kernel, and the MiniDataAPI
from route handlers through a real server."""
import subprocess, sys, textwrap
from pathlib import Path
import httpx, pytest
from harness import free_port, run_py, wait_http
import fastlite
from fhnb.tables import TableError, Rows, pkless_insert_broken, fix_tables
fix_tables()   # importing changes nothing; `import fhnb` in a notebook and `fhnb serve` call it
from fasthtml.common import fast_app  # after fix_tables: fhnb's, which checks every spec before it opens the database

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent

SEED_VISITORS = '''
from fasthtml.common import *
app, rt, users, User = fast_app('folder/filename.db', users={'username': str})
print(users.insert(username='x'))
'''

# --- the pk-less insert bug ---------------------------------------------------------------

def test_pkless_insert_fails_in_plain_fastlite(tmp_path):
    "The bug, reproduced in a plain script without fhnb (while fastlite still has it)."
    if not pkless_insert_broken(): pytest.skip('this fastlite inserts into pk-less tables fine: the fix steps aside')
    r = run_py(SEED_VISITORS, tmp_path)
    assert r.returncode != 0 and "KeyError: 'rowid'" in r.stderr, r.stderr

def test_pkless_insert_works_once_fhnb_tables_fixes_fastlite(tmp_path):
    r = run_py('import fhnb.tables; fhnb.tables.fix_tables()\n' + SEED_VISITORS + "print(users.last_pk, [u.username for u in users()])", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Users(username='x')", "1 ['x']"]
    assert (tmp_path/'folder'/'filename.db').exists()

def test_pkless_update_and_lookup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, _, users, User = fast_app('v.db', users={'username': str})
    users.insert(username='a'); users.insert(username='b')
    assert users.update(rowid=2, username='c') == User(username='c')
    assert users[2] == User(username='c') and users.last_pk == 2

def test_fix_steps_aside_when_fastlite_is_fixed(tmp_path):
    "With a fastlite whose `get_last` handles rowid tables, fhnb leaves `get_last` alone."
    r = run_py('''
        import fastlite
        broken = fastlite.Table.get_last
        def get_last(self, as_cls=True, legacy=True):  # stands in for a fixed fastlite release
            if self.use_rowid: return self.cls(**self.result[-1]) if as_cls and hasattr(self, 'cls') else self.result[-1]
            return broken(self, as_cls=as_cls, legacy=legacy)
        fastlite.Table.get_last = get_last
        import fhnb.tables; fhnb.tables.fix_tables()
        print(fhnb.tables.pkless_insert_broken(), fastlite.Table.get_last is get_last)
    ''', tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['False', 'True']

def test_tables_module_imports_no_notebook_code():
    "`fhnb/tables.py` on its own (as an exported app would use it) imports neither IPython nor widgets."
    r = run_py(f'''
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location('fhnb.tables_alone', {str(ROOT/'fhnb'/'tables.py')!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        print([n for n in ('IPython', 'ipywidgets', 'anywidget', 'ipykernel') if n in sys.modules], m.Rows)
    ''', ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('[] <function Rows'), r.stdout

# --- bad input: one line, naming table and field, nothing written --------------------------

BAD = [
    (dict(notes={'text': str, 'tags': set}), "table 'notes' column 'tags': set is not a column type; allowed: int, str"),
    (dict(notes={'text': str, 'pk': 'id'}), "table 'notes': pk 'id' names no field; fields: text"),
    (dict(notes=['text']), "table 'items' column 'notes': ['text'] is not a column type"),
    (dict(notes={'text': str}, tags=('name',)), "table 'tags': the spec must be a dict of column name to type"),
]

BAD.append((dict(notes={'text': str, 'n': int|None}), "table 'notes' column 'n': int | None is not a column type"))
BAD += [(dict(notes={}), "table 'notes': no columns; a table needs at least one, like {'name': str}"),
        ({'notes': {'text': str}, 'a]b': {'x': str}}, "table 'a]b': a table name must be non-empty and without ']', like 'todo_items'"),
        (dict(notes={'due date': str}), "table 'notes' column 'due date': fast_app makes each column a dataclass field, so it must be a Python name")]

@pytest.mark.parametrize('spec,msg', BAD, ids=['type', 'pk', 'list-spec', 'tuple-spec', 'optional', 'empty', 'bracket-name', 'space-column'])
def test_bad_spec_is_one_named_line_and_writes_nothing(tmp_path, monkeypatch, spec, msg):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TableError) as e: fast_app('data/app.db', **spec)
    assert msg in str(e.value) and '\n' not in str(e.value)
    assert list(tmp_path.iterdir()) == []   # no folder, no database file, no table made before the bad one

def test_bad_spec_leaves_an_existing_database_as_it_was(tmp_path):
    db = fastlite.Database(tmp_path/'app.db')
    db.t.users.create(username=str)
    with pytest.raises(TableError, match="table 'tags' column 'name'"):
        fast_app(tmp_path/'app.db', users={'username': str, 'email': str}, notes={'text': str}, tags={'name': set})
    assert db.t.users.columns_dict == {'username': str} and 'notes' not in db.t

def test_bad_spec_in_a_kernel_writes_nothing_whatever_the_import_order(kernel, tmp_path):
    kernel.ok(f'import os; os.chdir({str(tmp_path)!r})')
    kernel.ok('from fasthtml.common import *')   # the seed's first line, before fhnb binds anything
    kernel.ok('from fhnb import *')
    r = kernel.run("app, rt, (notes, Note), (tags, Tag) = fast_app('data/app.db', notes={'text': str}, tags=['name'])")
    assert (r.error or '').startswith("TableError: table 'tags': the spec must be a dict"), r.error
    assert list(tmp_path.iterdir()) == []

def test_bad_dataclass_pk(tmp_path):
    from dataclasses import dataclass
    @dataclass
    class Visit: name: str
    db = fastlite.database(tmp_path/'a.db')
    with pytest.raises(TableError, match="table 'visit': pk 'id' names no field; fields: name"): db.create(Visit)
    assert 'visit' not in db.t
    assert db.create(Visit, pk='name').pks == ['name']
    @dataclass
    class Note: id: int; n: int|None = None   # Optional fields are fine from a dataclass: fastlite maps them
    assert db.create(Note).columns_dict == {'id': int, 'n': int}

def test_missing_row_names_table_and_pk(tmp_path):
    db = fastlite.database(tmp_path/'a.db')
    t = db.t.todo; t.create(id=int, title=str, pk='id')
    with pytest.raises(fastlite.NotFoundError, match=r"^table 'todo' has no row with id=7$"): t[7]
    with pytest.raises(fastlite.NotFoundError, match="no row with id=7"): t.update(id=7, title='x')
    with pytest.raises(fastlite.NotFoundError, match="no row with id=7"): t.delete(7)
    assert t() == []

def test_db_folder_that_cannot_be_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path('notes.txt').write_text('a file')
    with pytest.raises(TableError, match=r"^database 'notes.txt/sub/app.db': cannot create its folder 'notes.txt/sub' \(Not a directory\)$"):
        fast_app('notes.txt/sub/app.db', users={'username': str})
    assert Path('notes.txt').read_text() == 'a file'

def test_db_path_that_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path('data').mkdir()
    with pytest.raises(TableError) as e: fast_app('data', users={'username': str})
    assert str(e.value) == "database 'data' is a folder: name a file in it, like 'data/app.db'"
    assert list(tmp_path.iterdir()) == [tmp_path/'data'] and list(Path('data').iterdir()) == []

def test_db_folder_error_from_fastlite_directly(tmp_path):
    (tmp_path/'f').write_text('a file')
    for make in (fastlite.Database, fastlite.database):
        with pytest.raises(TableError, match=r"cannot create its folder '.*/f/sub' \(Not a directory\)$"): make(tmp_path/'f'/'sub'/'x.db')

def test_nested_db_folders_are_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, _, users, User = fast_app('data/deep/er/app.db', users={'username': str})
    assert users.insert(username='ann') == User(username='ann')
    db = fastlite.Database('more/data/tasks.db')   # the seed's fastlite-direct line, in a fresh folder
    assert db.t.task not in db.t and Path('more/data/tasks.db').exists()

# --- display in a real kernel ---------------------------------------------------------------

def test_display_in_a_real_kernel(kernel):
    kernel.ok(textwrap.dedent('''
        from fasthtml.common import *
        app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, pk='id'))
        for i in range(25): todos.insert(title=f'todo {i}', done=i%2)
        from fhnb import *'''))   # the table existed before fhnb was imported, as in the user's day
    tbl = kernel.ok('todos').outputs[0]
    assert '<b>todos</b>' in tbl['text/html'] and '20 of 25 rows' in tbl['text/html'] and 'INTEGER pk' in tbl['text/html']
    assert tbl['text/html'].count('<tr>') == 21
    row = kernel.ok('todos[3]').outputs[0]
    assert 'todo 2' in row['text/html'] and row['text/plain'].startswith('Todos(')
    rows = kernel.ok("todos(where='done=1', limit=3)").outputs[0]
    assert rows['text/html'].count('<tr>') == 4
    kernel.ok('from dataclasses import dataclass\n@dataclass\nclass P: x:int')
    for expr in ('[P(1)]', 'P(2)', '[dict(a=1)]', '[]', 'todos.columns'):  # not rows: their usual display
        assert 'text/html' not in kernel.ok(expr).outputs[0], expr

def test_display_of_a_huge_value_is_bounded(kernel):
    "A 10 MB text in a row: the table, the row and a query's rows each show a short cell, not 10 MB of HTML or text."
    kernel.ok(textwrap.dedent('''
        from fasthtml.common import *
        from fhnb import *
        app, rt, notes, Note = fast_app('data/notes.db', notes=dict(id=int, body=str, pk='id'))
        notes.insert(id=1, body='x' * 10_000_000)'''))
    for expr in ('notes', 'notes[1]', 'notes()'):
        out = kernel.ok(expr).outputs[0]
        assert len(out['text/html']) < 3_000 and 'xxx… (10,000,000 characters)' in out['text/html'], (expr, len(out['text/html']))
        assert len(out['text/plain']) < 1_000, (expr, len(out['text/plain']))   # stored beside the HTML: cut too

def test_display_of_fastlite_direct_and_dataclass_tables(kernel):
    kernel.ok(textwrap.dedent('''
        from fhnb import *
        from fastlite import *
        from dataclasses import dataclass
        db = database('data/tasks.db')
        @dataclass
        class Todo: id:int; title:str
        todos = db.create(Todo, pk='id')
        todos.insert(Todo(1, 'milk'))'''))
    for expr in ('todos', 'todos[1]', 'todos()'):
        assert 'milk' in kernel.ok(expr).outputs[0]['text/html'], expr

# --- the MiniDataAPI from route handlers, through a real server ------------------------------

APP = '''
from fasthtml.common import *
from fastlite import NotFoundError
from fhnb.tables import Rows
app, rt, (users, User), (todos, Todo) = fast_app('data/app.db', users={'username': str},
    todos={'id': int, 'title': str, 'status': str, 'name': str, 'pk': 'id'})

@rt('/visit')
def post(username: str): return Rows(users.insert(username=username))

@rt('/todos')
def post(id: int, title: str, status: str, who: str):
    todos.xtra(name=who)
    return Rows(todos.insert(Todo(id=id, title=title, status=status)))

@rt('/todos/{id}')
def get(id: int, who: str):
    todos.xtra(name=who)
    try: return Rows(todos[id])
    except NotFoundError as e: return Response(str(e), status_code=404)

@rt('/todos/{id}')
def put(id: int, status: str, who: str): todos.xtra(name=who); return Rows(todos.update(id=id, status=status))

@rt('/todos/{id}')
def delete(id: int, who: str): todos.xtra(name=who); todos.delete(id); return ''

@rt('/todos')
def get(who: str, status: str = 'open'):
    todos.xtra(name=who)
    return Rows(todos(where=f"status='{status}'", order_by='title', limit=2), id='list')
'''

SERVE = '''
from fhnb.server import serve_nb
port = serve_nb(app, port={port}).port
'''

def test_operations_from_route_handlers_through_the_kernels_server(kernel):
    kernel.ok(APP)
    port = int(kernel.ok(SERVE.format(port=free_port()) + 'print(port)').stdout.strip())
    base = f'http://127.0.0.1:{port}'
    wait_http(base + '/todos?who=x', timeout=30)
    with httpx.Client(base_url=base, timeout=10) as c:
        r = c.post('/visit', data=dict(username='ann'))          # the seed's pk-less insert: 500 without the fix
        assert r.status_code == 200 and 'ann' in r.text and '<table' in r.text
        for i,(t,s,w) in enumerate([('walk', 'open', 'ann'), ('milk', 'open', 'ann'), ('read', 'open', 'ann'), ('bob', 'open', 'bob')], 1):
            assert c.post('/todos', data=dict(id=i, title=t, status=s, who=w)).status_code == 200
        assert 'milk' in c.get('/todos/2', params=dict(who='ann')).text
        r = c.get('/todos/2', params=dict(who='bob'))             # xtra scopes lookups
        assert r.status_code == 404 and r.text == "table 'todos' has no row with id=2 (scoped by name='bob')"
        r = c.get('/todos', params=dict(who='ann'))               # where + order_by + limit
        rows = r.text[r.text.index('<table'):]                     # the page's head has fhnb's frame script
        assert rows.index('milk') < rows.index('read') and 'walk' not in rows and 'Todo(' not in rows
        assert 'done' in c.put('/todos/2', data=dict(status='done', who='ann')).text
        assert 'milk' in c.get('/todos', params=dict(who='ann', status='done')).text
        assert c.delete('/todos/1', params=dict(who='ann')).status_code == 200
        assert c.get('/todos/1', params=dict(who='ann')).status_code == 404
        assert c.get('/todos', params=dict(who='bob')).text.count('<tr>') == 2
    rows = kernel.ok("print([(t.id, t.title, t.status, t.name) for t in todos(xtra={'name': 'ann'})], [u.username for u in users()])").stdout
    assert rows.strip() == "[(2, 'milk', 'done', 'ann'), (3, 'read', 'open', 'ann')] ['ann']"

def test_served_exported_app_gets_the_fix(tmp_path):
    "An exported plain-FastHTML app (no fhnb import) under `fhnb serve`: the pk-less insert works, rows show as a table."
    (tmp_path/'visitors.py').write_text(textwrap.dedent('''
        from fasthtml.common import *
        app, rt, users, User = fast_app('data/visitors.db', users={'username': str})
        @rt('/')
        def post(username: str): users.insert(username=username); return P(f'Welcome {username}!')

        def Rows(rows): return Table(Tr(*map(Th, asdict(rows[0]))), *[Tr(*map(Td, asdict(r).values())) for r in rows]) if rows else P('No rows yet')

        @rt('/')
        def get(): return Titled('Visitors', Rows(users()))
    '''))
    port = free_port()
    if subprocess.run([PY, '-m', 'fhnb', 'serve', '--help'], capture_output=True).returncode == 0:
        cmd = [PY, '-m', 'fhnb', 'serve', 'visitors:app', '--port', str(port)]
    else:  # `fhnb serve` not there yet: what it does, importing fhnb before the app
        cmd = [PY, '-c', f"import fhnb, uvicorn; uvicorn.run('visitors:app', host='127.0.0.1', port={port}, log_level='warning')"]
    p = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        try: wait_http(f'http://127.0.0.1:{port}/', timeout=60, proc=p)
        except RuntimeError as e: raise RuntimeError(f'{e}\n{p.stdout.read().decode()}') from None
        r = httpx.post(f'http://127.0.0.1:{port}/', data=dict(username='ann'), timeout=10)
        assert r.status_code == 200 and 'Welcome ann!' in r.text
        page = httpx.get(f'http://127.0.0.1:{port}/', timeout=10).text   # the documented plain-FastHTML `Rows` line
        assert '<th>username</th>' in page and '<td>ann</td>' in page and 'Users(' not in page
    finally:
        p.terminate(); p.wait(10)

# --- readable in JupyterLab's light and dark themes ------------------------------------------

def _luminance(rgb:str) -> float:
    "Relative luminance of a CSS `rgb(...)`/`rgba(...)` colour."
    r,g,b = [int(float(v))/255 for v in rgb[rgb.index('(')+1:rgb.index(')')].split(',')[:3]]
    f = lambda c: c/12.92 if c <= 0.03928 else ((c+0.055)/1.055)**2.4
    return 0.2126*f(r) + 0.7152*f(g) + 0.0722*f(b)

def _contrast(a:str, b:str) -> float:
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi+0.05)/(lo+0.05)

CELL_COLOURS = '''() => { const td = document.querySelector('.jp-OutputArea-output td');
  let el = td, bg = 'rgba(0, 0, 0, 0)';
  while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) { bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
  return [getComputedStyle(td).color, bg]; }'''

@pytest.mark.browser
@pytest.mark.own_lab   # it changes JupyterLab's settings
def test_table_reads_in_light_and_dark_themes(lab, page):
    from harness import write_notebook, open_notebook, run_all_cells, screenshot
    write_notebook(lab.root/'tables.ipynb', 'from fasthtml.common import *\nfrom fhnb import *',
        "app, rt, tasks, Task = fast_app('data/tasks.db', tasks={'id': int, 'name': str, 'done': bool, 'pk': 'id'})\n"
        "for i in range(3): tasks.insert(name=f'task {i}', done=False)", 'tasks')
    open_notebook(page, lab, 'tables.ipynb')
    run_all_cells(page)
    page.wait_for_selector('.jp-OutputArea-output table', timeout=30_000)
    assert 'task 2' in page.inner_text('.jp-OutputArea-output table')
    for theme in ('JupyterLab Light', 'JupyterLab Dark'):
        page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
        page.wait_for_function(f"() => document.body.dataset.jpThemeName === '{theme}'", timeout=30_000)
        page.wait_for_timeout(500)
        fg, bg = page.evaluate(CELL_COLOURS)
        assert _contrast(fg, bg) > 7, (theme, fg, bg)
        screenshot(page, f"tables-{theme.split()[-1].lower()}")

def test_table_errors_point_at_the_users_line(kernel):
    "A bad spec in a notebook: the traceback shows the user's `fast_app` line, then only the line that raised (fhnb's checks hidden)."
    import re
    tb = re.sub(r'\x1b\[[0-9;]*m', '', kernel.run("from fasthtml.common import *\nfrom fhnb import *\napp, rt, t, T = fast_app('data/x.db', t={'name': object})").traceback)
    assert "fast_app('data/x.db', t={'name': object})" in tb and 'TableError' in tb
    assert tb.count('fhnb/tables.py') == 1 and 'skipping hidden' in tb, tb
