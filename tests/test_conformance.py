"""One MiniDataAPI, two engines, the same answers: every call form fastlite documents and the seed uses, on SQLite
(fastlite through `fast_app`) and on PostgreSQL (`fhnb.database` through the same `fast_app`, on a throwaway cluster),
in a cell and in a request through a real app, without and with `xtra`. Each answer is compared by its `repr`, so
values *and* types count (`1` is not `True`, `b''` is not a memoryview); the expected answers are fastlite's on SQLite."""
from __future__ import annotations
import datetime, inspect, json, os, uuid
from dataclasses import fields
import httpx, pytest
import fhnb.tables
fhnb.tables.fix_tables()   # as `import fhnb` in a notebook and `fhnb serve` do
import fasthtml.common as fh
from fastlite import NotFoundError
from starlette.responses import PlainTextResponse
from harness import Kernel, serving
from services import postgres, psql

D1, D2 = datetime.date(2024, 1, 2), datetime.date(2024, 2, 3)
ITEMS = [dict(id=1, title='Write report', done=False, n=2, x=1.5, blob=b'\x00\x01', day=D1, owner='ann'),
         dict(id=2, title='Water plants', done=True, n=1, x=0.25, blob=b'', day=D2, owner='ann'),
         dict(id=3, title='Call mum', done=True, n=3, x=-2.0, blob=b'abc', day=D1, owner='bob'),
         dict(id=4, title='Fix roof', done=False, n=5, x=3.0, blob=None, day=None, owner='bob')]
PAIRS = [dict(a=1, b='a', v='x', owner='ann'), dict(a=1, b='b', v='y', owner='bob'), dict(a=2, b='a', v='z', owner='ann')]

# Each call form: what a user writes, given the `items` table `t`, its row class `T` and the compound-key table `p`.
FORMS = {
    'all': lambda t, T, p: t(),
    'pk': lambda t, T, p: t[2],
    'pk_other_owner': lambda t, T, p: t[3],
    'pk_missing': lambda t, T, p: t[99],
    'get_default': lambda t, T, p: t.get(99, default='none'),
    'where_q': lambda t, T, p: t(where='n > ?', where_args=[1]),
    'where_two_q_limit_offset': lambda t, T, p: t(where='(title LIKE ? OR owner LIKE ?)', where_args=['%a%', '%a%'], order_by='id desc', limit=4, offset=0),
    'where_q_in_quotes': lambda t, T, p: t(where="title != 'why?' and n >= ?", where_args=[3]),
    'where_named': lambda t, T, p: t(where='n > :m and title != :s', where_args=dict(m=1, s='Fix roof')),
    'where_bool_q': lambda t, T, p: t(where='done = ?', where_args=[True]),
    'where_bool_q_int': lambda t, T, p: t(where='done = ?', where_args=[1]),
    'where_bool_literal': lambda t, T, p: t(where='done = 0', order_by='title'),
    'where_null': lambda t, T, p: t(where='day is null'),
    'order_by': lambda t, T, p: t(order_by='n desc'),
    'order_by_two': lambda t, T, p: t(order_by='done, title'),
    'limit_offset': lambda t, T, p: t(order_by='id', limit=2, offset=1),
    'where_q_limit_offset': lambda t, T, p: t(where='x > ?', where_args=[0], order_by='x', limit=1, offset=1),
    'select': lambda t, T, p: t(select='id, title', as_cls=False),
    'as_dict': lambda t, T, p: t(as_cls=False, limit=1),
    'with_pk': lambda t, T, p: t(with_pk=True, limit=2),
    'selectone': lambda t, T, p: t.selectone('n = ?', [1]),
    'count': lambda t, T, p: t.count,
    'len': lambda t, T, p: len(t),
    'count_where': lambda t, T, p: t.count_where('n > ?', [1]),
    'dataclass_fields': lambda t, T, p: [(f.name, str(f.type)) for f in fields(T)],
    'insert_kwargs': lambda t, T, p: t.insert(title='New', done=True, n=7, x=0.5, blob=b'z', day=D2, owner='ann'),
    'insert_dataclass': lambda t, T, p: t.insert(T(title='From a dataclass', done=False, n=8, x=2.0, blob=b'', day=D1, owner='ann')),
    'insert_own_key': lambda t, T, p: (t.insert(id=10, title='Ten', owner='ann'), t.insert(title='Eleven', owner='ann')),
    'insert_all': lambda t, T, p: t.insert_all([dict(title='A', owner='ann'), dict(title='B', owner='bob')]) and None,
    'update_kwargs': lambda t, T, p: t.update(id=1, title='Edited'),
    'update_dataclass': lambda t, T, p: t.update(T(id=2, title='Edited', done=False, n=1, x=0.25, blob=b'', day=str(D2), owner='ann')),
    'update_bool_int': lambda t, T, p: t.update(id=2, done=0),
    'update_other_owner': lambda t, T, p: t.update(id=3, title='stolen'),
    'update_missing': lambda t, T, p: t.update(id=99, title='none'),
    'upsert_existing': lambda t, T, p: t.upsert(id=1, title='Upserted', n=9),
    'upsert_new': lambda t, T, p: t.upsert(id=20, title='Twenty', done=True, owner='ann'),
    'upsert_other_owner': lambda t, T, p: t.upsert(id=3, title='taken'),
    'delete': lambda t, T, p: t.delete(2) and None,
    'delete_other_owner': lambda t, T, p: t.delete(3) and None,
    'delete_missing': lambda t, T, p: t.delete(99) and None,
    'delete_where': lambda t, T, p: (t.delete_where('n > ?', [1]), None)[1],
    'delete_where_all': lambda t, T, p: (t.delete_where(), None)[1],
    'compound_pk': lambda t, T, p: p[2, 'a'],
    'compound_pk_other_owner': lambda t, T, p: p[1, 'b'],
    'compound_pk_missing': lambda t, T, p: p[(9, 'z')],
    'compound_with_pk': lambda t, T, p: p(with_pk=True),
    'compound_update': lambda t, T, p: p.update(a=1, b='a', v='q'),
    'compound_upsert_other_owner': lambda t, T, p: p.upsert(a=1, b='b', v='taken'),
    'compound_delete': lambda t, T, p: p.delete((2, 'a')) and None,
}

def answer(f, t, T, p) -> str:
    "What call form `f` answers, as text: the value's repr, or the error's type and message."
    try: return repr(f(t, T, p))
    except NotFoundError as e: return f'NotFoundError: {e}'
    except Exception as e: return f'{type(e).__name__}: {e}'

def rows(t) -> list:
    "Every row of `t`, outside any scope, as fastlite returns them: what a call form left behind."
    return t(as_cls=False)

# --- The two engines, one app each --------------------------------------------------------------------

def make_app(db_file:str):
    "The same app on either engine: `items` and `pairs` (compound key), a route that runs a call form, `?owner=` sets `xtra` per request."
    def before(req):
        owner = req.query_params.get('owner')
        for tbl in (t, p): tbl.xtra(**({'owner': owner} if owner else {}))
    app, rt, (t, T), (p, P) = fh.fast_app(db_file, before=fh.Beforeware(before), secret_key='conformance-test-key',
        tbls=dict(items=dict(id=int, title=str, done=bool, n=int, x=float, blob=bytes, day=datetime.date, owner=str, pk='id'),
                  pairs=dict(a=int, b=str, v=str, owner=str, pk=['a', 'b'])))
    @rt('/form/{name}')
    def get(name:str): return PlainTextResponse(answer(FORMS[name], t, T, p))
    return fh.Client(app), t, T, p

@pytest.fixture(scope='module')
def cluster():
    with postgres() as url: yield url

@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def engine(request, tmp_path_factory):
    "An app on each engine in turn: SQLite (fastlite) in a temp folder, or a fresh PostgreSQL database (`fhnb.database`)."
    tmp, old = tmp_path_factory.mktemp(request.param), os.environ.pop('FHNB_DATABASE', None)
    try:
        if request.param == 'postgresql':
            cluster = request.getfixturevalue('cluster')
            name = 'conformance_' + uuid.uuid4().hex[:8]
            psql(cluster, f'create database {name}')
            os.environ['FHNB_DATABASE'] = cluster.rsplit('/', 1)[0] + '/' + name
        yield request.param, *make_app(str(tmp/'data'/'app.db'))
    finally:
        os.environ.pop('FHNB_DATABASE', None)
        if old is not None: os.environ['FHNB_DATABASE'] = old

def reset(kind:str, t, p):
    "The same rows on both engines, keys numbered from the same point (on PostgreSQL the key sequence restarts)."
    t.xtra(); p.xtra()
    if kind == 'postgresql': t.db.q('TRUNCATE items, pairs RESTART IDENTITY')
    else: t.db.execute('delete from items'); t.db.execute('delete from pairs')
    for r in ITEMS: t.insert(r)
    for r in PAIRS: p.insert(r)

# --- The expected answers: fastlite's on SQLite -----------------------------------------------------------

from conformance_expected import EXPECTED, SEED   # noqa: E402  (form, scope) -> (answer, rows after or None: as seeded); from SQLite, then read

@pytest.mark.parametrize('scope', [None, 'ann'], ids=['no-xtra', 'xtra'])
@pytest.mark.parametrize('where', ['cell', 'request'])
@pytest.mark.parametrize('form', list(FORMS))
def test_call_form(engine, form, where, scope):
    kind, client, t, T, p = engine
    reset(kind, t, p)
    if where == 'cell':
        t.xtra(**({'owner': scope} if scope else {})); p.xtra(**({'owner': scope} if scope else {}))
        try: got = answer(FORMS[form], t, T, p)
        finally: t.xtra(); p.xtra()
    else:
        r = client.get(f'/form/{form}' + (f'?owner={scope}' if scope else ''))
        assert r.status_code == 200, r.text
        got = r.text
    want_answer, want_rows = EXPECTED[form, scope]
    assert got == want_answer
    assert repr((rows(t), rows(p))) == (want_rows or SEED)
    assert t.xtra_id == {} and p.xtra_id == {}   # a request's scope ends with it

def test_every_form_has_an_answer_per_scope():
    "The expected answers cover every call form, both scopes: the count reported is len(FORMS) x 2 engines."
    assert {f for f, _ in EXPECTED} == set(FORMS) and len(EXPECTED) == 2 * len(FORMS)

# --- `xtra` under `fhnb serve` and in a kernel -------------------------------------------------------------

SCOPED_APP = '''
from fasthtml.common import *
from fastlite import NotFoundError
def before(req): notes.xtra(**({'owner': req.query_params['owner']} if 'owner' in req.query_params else {}))
app, rt, notes, Note = fast_app('data/notes.db', before=Beforeware(before), notes=dict(id=int, text=str, owner=str, pk='id'))
def attempt(f):
    try: f(); return 'ok'
    except NotFoundError: return 'refused'
@rt('/add')
def get(text:str): return str(notes.insert(text=text).id)
@rt('/count')
def get(): return f'{notes.count} {len(notes)}'
@rt('/take')
def get(id:int, owner:str): return attempt(lambda: notes.upsert(id=id, text=f'{owner} was here'))
@rt('/edit')
def get(id:int): return attempt(lambda: notes.update(id=id, text='edited'))
@rt('/remove')
def get(id:int): return attempt(lambda: notes.delete(id))
@rt('/all')
def get(): return ' '.join(f'{n.id}:{n.text}:{n.owner}' for n in notes())
'''

def scoped_story(get) -> list:
    "Ann and Bob share a table scoped per request by `xtra(owner=...)`; `get(path)` answers a request's text."
    for owner, text in [('ann', 'a1'), ('bob', 'b1'), ('ann', 'a2')]: get(f'/add?owner={owner}&text={text}')
    return [get(f'/{op}?owner=ann&id=2') for op in ('count', 'take', 'edit', 'remove')] + [get('/take?owner=bob&id=2'), get('/all')]

STORY = ['2 2', 'refused', 'refused', 'refused', 'ok', '1:a1:ann 2:bob was here:bob 3:a2:ann']

@pytest.fixture(params=['sqlite', 'postgresql'])
def backend(request, monkeypatch, tmp_path):
    "Each engine in turn for a served app: its SQLite file in `tmp_path`, or a fresh PostgreSQL database (FHNB_DATABASE)."
    monkeypatch.setenv('FHNB_SECRET_KEY', 'conformance-test-key-' + 'x' * 30)
    monkeypatch.delenv('FHNB_DATABASE', raising=False)
    if request.param == 'postgresql':
        cluster, name = request.getfixturevalue('cluster'), 'scoped_' + uuid.uuid4().hex[:8]
        psql(cluster, f'create database {name}')
        monkeypatch.setenv('FHNB_DATABASE', cluster.rsplit('/', 1)[0] + '/' + name)
    (tmp_path/'scoped.py').write_text(SCOPED_APP)
    return request.param

def test_xtra_is_a_scope_under_fhnb_serve(backend, tmp_path):
    "Under `fhnb serve`, a request scoped to Ann counts her rows only and cannot upsert, update or delete Bob's."
    with serving('scoped:app', '--port', '0', cwd=tmp_path) as (url, _), httpx.Client(base_url=url) as c:
        assert scoped_story(lambda path: c.get(path).text) == STORY

def test_xtra_is_a_scope_in_a_kernel(backend, tmp_path):
    "The same app in a notebook's kernel (`import fhnb`): its requests, and a cell's own calls."
    k = Kernel(cwd=tmp_path)
    try:
        k.ok('import fhnb, json\nexec(open("scoped.py").read())\nc = Client(app)\n' + inspect.getsource(scoped_story))
        assert json.loads(k.ok('print(json.dumps(scoped_story(lambda p: c.get(p).text)))').stdout) == STORY
        out = k.ok("notes.xtra(owner='ann')\ntry: notes.upsert(id=2, text='cell')\nexcept NotFoundError as e: print(e)\nprint(notes.count, len(notes))")
        assert out.stdout.splitlines() == ["table 'notes' has no row with id=2 (scoped by owner='ann')", '2 2'], out.stdout
    finally: k.shutdown()
