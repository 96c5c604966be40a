"""`fhnb check` as CI runs it: a subprocess on an app module, Debian's Chromium, its lines, its JSON and its exit status."""
import json, subprocess, sys
import pytest

SHOP = '''
from fasthtml.common import *
def login_first(req, sess):
    if not sess.get('auth'): return RedirectResponse('/login', status_code=303)
app, rt = fast_app(before=Beforeware(login_first, skip=['/login', '/report']))
@rt('/login')
def get(): return Titled('Log in', Form(Input(name='user', aria_label='User'), Button('Log in'), action='/login', method='post'))
@rt('/')
def get(sess): return Titled('Shop', Img(src='/logo.png'), Button('More', hx_gte='/items'), A('Old', href='/old'), P(sess['auth']))
@rt('/report')
def get(): return P(totals())
'''

def fhnb_check(folder, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'fhnb', 'check', *args], cwd=folder, capture_output=True, text=True, timeout=300)

@pytest.fixture
def shop(tmp_path, chromium):
    (tmp_path/'shop.py').write_text(SHOP)
    return tmp_path

def test_findings_one_line_each_and_exit_1(shop):
    r = fhnb_check(shop, 'shop:app')
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == 'fhnb check: shop:app: 2 findings', r.stdout
    assert "route /report: server-error: GET /report answered 500: NameError: name 'totals' is not defined" in r.stdout
    assert 'route /login: html-has-lang: <html>: <html> element must have a lang attribute' in r.stdout
    assert 'route /: ' not in r.stdout   # an anonymous visitor is sent to the login page, read once

def test_a_session_json_and_ignore(shop):
    r = fhnb_check(shop, 'shop:app', '--session', '{"auth": "alice"}', '--json', '--ignore', 'html-has-lang')
    assert r.returncode == 1, r.stderr
    found = {(f['route'], f['rule'], f['element']) for f in json.loads(r.stdout)}
    assert found == {('/', 'hx-unknown-attribute', '<button> "More" hx-gte'), ('/', 'broken-image', '<img src="/logo.png">'),
                     ('/', 'image-alt', '<img src="/logo.png">'), ('/', 'broken-link', '<a href="/old">'),
                     ('/report', 'server-error', '')}, found

def test_bad_input_is_one_line(shop):
    r = fhnb_check(shop, 'shop:app', '--session', 'alice')
    assert r.returncode == 2 and r.stderr.strip() == "fhnb check: --session 'alice': not JSON (Expecting value); pass an object, e.g. '{\"auth\": \"alice\"}'", r.stderr
    r = fhnb_check(shop, 'nowhere:app')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no module named 'nowhere'" in r.stderr, r.stderr

@pytest.mark.parametrize('spec,args', [('welcome', []), ('todos', []), ('todos', ['--session', '{"user": "alice"}', '--follow']), ('live', [])])
def test_the_examples_pass(tmp_path, chromium, spec, args):
    r = fhnb_check(tmp_path, f'fhnb.examples.{spec}:app', *args)
    assert r.returncode == 0 and r.stdout.strip() == f'fhnb check: fhnb.examples.{spec}:app: no findings', r.stdout + r.stderr
    assert not list(tmp_path.rglob('*.db'))   # scratch copies: no database in the folder it ran in
