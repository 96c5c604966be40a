"""fhnb's pytest plugin as a project meets it: a project whose settings.ini names its app, tests that use `hx`,
`live_app` and `app_page`, run by pytest in a subprocess (the plugin comes from fhnb's `pytest11` entry point)."""
import subprocess, sys, textwrap
from pathlib import Path
import pytest

SHOP = '''
from fasthtml.common import *
def login_first(req, sess):
    if not sess.get('auth'): return RedirectResponse('/login', status_code=303)
app, rt, items, Item = fast_app('data/shop.db', items=dict(id=int, title=str, pk='id'),
                                before=Beforeware(login_first, skip=['/login']), htmlkw={'lang': 'en'})
@rt('/login')
def get(): return Titled('Log in', Form(Input(name='user', aria_label='User'), Button('Log in'), action='/login', method='post'))
@rt('/login')
def post(user:str, sess):
    sess['auth'] = user
    return RedirectResponse('/', status_code=303)
@rt('/')
def get(sess): return Titled(f"{sess['auth']}'s list", Ul(id='list'),
                             Form(Input(name='title', aria_label='Title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'),
                             Input(name='q', aria_label='Search', hx_get='/search', hx_trigger='keyup changed delay:200ms', hx_target='#found'),
                             Div(id='found'))
@rt('/add')
def post(title:str): return Li(items.insert(title=title).title)
@rt('/search')
def get(q:str): return P(f'found {q}')
'''

TESTS = '''
import httpx

def test_hx_meets_the_login(hx):
    r = hx.get('/')
    assert r.status == 303 and r.headers['location'] == '/login'

def test_hx_starts_logged_in(app):
    from fhnb.testing import HxClient
    r = HxClient(app, session={'auth': 'alice'}).post('/add', title='Milk')
    assert r.status == 200 and r.text.strip() == '<li>Milk</li>'

def test_live_app_serves_the_app(live_app):
    assert '<title>Log in</title>' in httpx.get(live_app + '/login').text

def test_app_page_logs_in_adds_and_searches(app_page):
    assert app_page.url.endswith('/login')
    app_page.fill('input[name=user]', 'alice')
    app_page.click('button')
    app_page.wait_for_url('**/')
    app_page.fill('input[name=title]', 'Milk')
    app_page.hx_submit('form')
    assert app_page.locator('#list li').all_inner_texts() == ['Milk']
    app_page.hx_fill('input[name=q]', 'jo')
    assert app_page.inner_text('#found') == 'found jo'
    assert app_page.a11y() == []

def test_hx_click_that_starts_nothing_names_it(app_page):
    app_page.timeout = 300
    try: app_page.hx_click('h1')
    except TimeoutError as e: assert "hx_click('h1'): no htmx request started" in str(e)
    else: raise AssertionError('no error')
'''

@pytest.fixture
def project(tmp_path):
    "A project with its app in `shop/app.py`, named by settings.ini, and a test file using the plugin's fixtures."
    (tmp_path/'shop').mkdir()
    (tmp_path/'shop'/'__init__.py').write_text('')
    (tmp_path/'shop'/'app.py').write_text(SHOP)
    (tmp_path/'settings.ini').write_text('[fhnb]\napp = shop.app:app\n')
    (tmp_path/'test_shop.py').write_text(TESTS)
    return tmp_path

def pytest_in(folder:Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *args], cwd=folder,
                          capture_output=True, text=True, timeout=300)

def test_a_project_uses_the_plugins_fixtures(project, chromium):
    r = pytest_in(project)
    assert r.returncode == 0 and '5 passed' in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    assert not (project/'data'/'shop.db').exists()   # the tests added rows to a scratch copy, not to the project's database

def test_fhnb_app_option_and_a_missing_app(project):
    (project/'settings.ini').write_text('[fhnb]\n')
    r = pytest_in(project, 'test_shop.py::test_hx_meets_the_login')
    assert r.returncode != 0 and 'fhnb: no app for the fixtures' in r.stdout + r.stderr, r.stdout[-2000:]
    r = pytest_in(project, '--fhnb-app', 'shop.app:app', 'test_shop.py::test_hx_meets_the_login')
    assert r.returncode == 0, r.stdout[-2000:]
