"""Copy as test for an app behind a login (issue 29): the server's log keeps the session a request carried, as data, and
the cell written from it passes in the notebook; a real kernel and real HTTP."""
import json
import httpx

APP = '''
from fasthtml.common import *
from fhnb import *
def login_first(req, sess):
    if not sess.get('auth'): return RedirectResponse('/login', status_code=303)
app, rt = fast_app(before=Beforeware(login_first, skip=['/login']))
@rt('/login')
def post(user:str, sess): sess['auth'] = user; return RedirectResponse('/', status_code=303)
@rt('/')
def get(sess): return Titled('Todos', Ul(id='list'), Form(Input(name='title'), Button('Add', id='add'), hx_post='/add', hx_target='#list'))
@rt('/add')
def post(title:str, sess): return Li(f"{title} for {sess['auth']}")
'''

def test_a_copied_test_of_a_logged_in_request_passes(kernel):
    kernel.ok(APP)
    url = kernel.ok('import json; print(json.dumps(serve_nb(app).url))').stdout.strip().strip('"')
    with httpx.Client(base_url=url) as c:
        c.post('/login', data={'user': 'alice'})
        signed = c.cookies['session_']
        r = c.post('/add', data={'title': 'Milk'}, headers={'HX-Request': 'true', 'HX-Current-URL': url + '/', 'HX-Target': 'list', 'HX-Trigger': 'add'})
    assert r.text.strip() == '<li>Milk for alice</li>'
    kernel.ok('from fhnb.preview import test_cell\nentry = current_server().log[-1]\ncell = test_cell(entry, ' + json.dumps(r.text) + ')')
    entry = json.loads(kernel.ok('print(json.dumps(entry["session"]))').stdout)
    assert entry == {'auth': 'alice'}
    cell = kernel.ok('print(cell)').stdout
    assert "hx = HxClient(app, session={'auth': 'alice'})" in cell and signed not in cell, cell
    kernel.ok('exec(cell, {"app": app})')   # the copied test passes
    r = kernel.run('exec(cell.replace(", session={\'auth\': \'alice\'}", ""), {"app": app})')
    assert r.error and 'AssertionError' in r.error   # without the session it meets the login: the session is what makes it pass
