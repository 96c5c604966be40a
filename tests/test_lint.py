"""HTMX lint on real pages: no false positives on the example apps, and each kind of mistake found in a served page."""
import importlib, os
import pytest
from starlette.testclient import TestClient
from fhnb.lint import lint

@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the examples make their data/ folder in the working directory

def pages(client, paths):
    return {p: client.get(p).text for p in paths}

def test_examples_have_no_lint(in_tmp):
    welcome = importlib.import_module('fhnb.examples.welcome')
    c = TestClient(welcome.app)
    assert lint(c.get('/').text, welcome.app) == []
    todos = importlib.import_module('fhnb.examples.todos')
    c = TestClient(todos.app, follow_redirects=True)
    assert lint(c.get('/').text, todos.app) == []   # the login page
    c.post('/login', data={'user': 'ann'})
    c.post('/todos', data={'title': 'Milk', 'priority': 1}, headers={'HX-Request': 'true'})
    assert lint(c.get('/').text, todos.app) == []

@pytest.mark.parametrize('html,want', [
    ('<button hx-gte="/">x</button>', 'did you mean hx-get?'),
    ('<button hx-post="/nowhere">x</button>', 'POST /nowhere: no route matches'),
    ('<button hx-put="/">x</button>', 'PUT /: the route has no PUT'),
    ('<button hx-get="/" hx-target="#gone">x</button>', '"#gone": matches nothing on the page'),
    ('<button hx-get="/" hx-target="div[">x</button>', 'not a CSS selector'),
])
def test_each_mistake_is_one_line(html, want):
    from fasthtml.common import fast_app, P
    app, rt = fast_app()
    @rt('/')
    def get(): return P('hi')
    found = lint(html, app)
    assert len(found) == 1 and want in found[0], found

# The htmx version the page runs: names of the other version are flagged, on pages fasthtml serves
import threading, textwrap
import httpx, uvicorn
from fasthtml.common import fast_app, Titled, Form, Input, Div, Button, P, Script
from harness import free_port, wait_http

def served_page(*body, **kw):
    app, rt = fast_app(**kw)
    @rt('/')
    def get(): return Titled('Hi', *body)
    return TestClient(app).get('/').text

@pytest.mark.parametrize('kw,el,want', [
    (dict(htmx4=True), Form(**{'hx-on::after-request': 'this.reset()'}), 'write hx-on--after-request (Python: hx_on__after_request)'),
    (dict(htmx4=True), Form(**{'hx-on::after:request': 'this.reset()'}), 'write hx-on--after-request'),
    (dict(htmx4=True), Form(**{'hx-on:submit': 'go()'}), 'write hx-on-submit'),
    (dict(htmx4=True), Div(**{'hx-on::xhr:progress': 'x()'}), 'htmx 4 has no such event'),
    (dict(htmx4=True), Div(hx_get='/', hx_disabled_elt='this'), "hx-disabled-elt: htmx 2's, ignored by htmx 4; use hx-disable"),
    (dict(htmx4=True), Div(hx_vars='x:1'), 'use hx-vals with a js: prefix'),
    (dict(htmx4=True), Div(hx_ext='ws', ws_connect='/ws'), "hx-ext=\"ws\": htmx 4 has no hx-ext"),
    (dict(htmx4=True, exts='head-support'), P('x'), "htmx 2's head-support extension on an htmx 4 page"),
    (dict(htmx4=True, exts='class-tools'), P('x'), 'htmx 4 has no version of it'),
    (dict(), Form(**{'hx-on::after:request': 'this.reset()'}), 'htmx 2 never runs it; write hx-on::after-request'),
    (dict(), Div(**{'hx-on::after:init': 'x()'}), 'write hx-on::load'),
    (dict(), Div(hx_get='/', hx_ignore=''), "hx-ignore: htmx 4's, ignored by htmx 2; use hx-disable"),
    (dict(), Div(**{'hx-target:inherited': 'body'}), "htmx 4's :inherited modifier, ignored by htmx 2"),
    (dict(exts='sse4'), P('x'), "htmx 4's hx-sse extension on an htmx 2 page; use htmx-ext-sse"),
    (dict(htmx4=True), Div(hx_get='/', hx_trigger='htmx:after:swap from:body'), 'never fires htmx:after:swap on this page; write htmx-after-swap'),
    (dict(), Div(hx_get='/', hx_trigger='htmx:after:swap from:body'), 'never fires htmx:after:swap on this page; write htmx:afterSwap'),
])
def test_other_versions_names_are_flagged(kw, el, want):
    found = lint(served_page(el, **kw))
    assert len(found) >= 1 and any(want in l for l in found), found

@pytest.mark.parametrize('kw', [dict(), dict(htmx4=True)])
def test_fasthtml_spellings_pass_on_both(kw):
    "What fasthtml's keyword arguments render is right for both versions: no line."
    assert lint(served_page(Form(Input(name='q'), hx_post='/', hx_on__after_request='this.reset()', hx_on_submit='1'),
                            Div(hx_get='/', hx_trigger='load', hx_swap='outerHTML'), **kw)) == []

def test_export_reports_version_mistakes(tmp_path):
    "`fhnb export`'s fresh-interpreter check of the app (`check_app`) reports them, with the route."
    from fhnb.export import check_app
    (tmp_path/'app4mod.py').write_text(textwrap.dedent('''
        from fasthtml.common import *
        app, rt = fast_app(htmx4=True)
        @rt('/')
        def get(): return Titled('Todos', Form(Input(name='title'), hx_post='/', **{'hx-on::after-request': 'this.reset()'}))
        @rt('/')
        def post(title: str): return P(title)
    '''))
    report = check_app('app4mod:app', root=tmp_path)
    assert report.error == ''
    assert report.lint == ['route /: <form> hx-on::after-request: htmx 4 never runs it on this page; write hx-on--after-request (Python: hx_on__after_request)']

@pytest.fixture
def served():
    "uvicorn on a free loopback port serving whichever offline app `served.app` is set to."
    from fhnb.assets import offline
    class Holder:
        app = None
        async def __call__(self, scope, receive, send):
            if scope['type'] == 'lifespan':
                while (m := await receive())['type'] != 'lifespan.shutdown': await send({'type': 'lifespan.startup.complete'})
                return await send({'type': 'lifespan.shutdown.complete'})
            await offline(self.app)(scope, receive, send)
    h, port = Holder(), free_port()
    h.app, _ = fast_app()
    srv = uvicorn.Server(uvicorn.Config(h, host='127.0.0.1', port=port, log_level='warning'))
    t = threading.Thread(target=srv.run, daemon=True); t.start()
    wait_http(f'http://127.0.0.1:{port}/', timeout=30)
    h.url = f'http://127.0.0.1:{port}'
    yield h
    srv.should_exit = True; t.join(10)

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [True, False], ids=['htmx4', 'htmx2'])
def test_flagged_handler_never_runs_and_the_fix_does(served, page, htmx4):
    "In Chromium, the hx-on spelling lint flags is never run by the page's htmx, and the one it suggests is."
    wrong = 'hx-on::after-request' if htmx4 else 'hx-on::after:request'
    app, rt = fast_app(htmx4=htmx4)
    @rt('/')
    def get(): return Titled('Forms', Form(Input(name='q', id='a'), Button('A', id='ba'), hx_post='/echo', hx_target='#out-a', **{wrong: 'this.reset()'}),
                             Div(id='out-a'),
                             Form(Input(name='q', id='b'), Button('B', id='bb'), hx_post='/echo', hx_target='#out-b', hx_on__after_request='this.reset()'),
                             Div(id='out-b'))
    @rt('/echo')
    def post(q: str): return P(f'got {q}')
    served.app = app
    found = lint(TestClient(app).get('/').text, app)
    assert len(found) == 1 and f'<form> "A" {wrong}: ' in found[0] and found[0].split('write ')[1].startswith('hx-on--after-request' if htmx4 else 'hx-on::after-request'), found
    page.goto(served.url + '/')
    page.fill('#a', 'one'); page.click('#ba')
    page.wait_for_selector('#out-a p:has-text("got one")', timeout=10_000)
    page.fill('#b', 'two'); page.click('#bb')
    page.wait_for_selector('#out-b p:has-text("got two")', timeout=10_000)
    page.wait_for_function("document.querySelector('#b').value === ''", timeout=10_000)   # the suggested spelling ran
    assert page.input_value('#a') == 'one'                                               # the flagged one never did

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [True, False], ids=['htmx4', 'htmx2'])
def test_flagged_trigger_never_fires_and_the_fix_does(served, page, htmx4):
    "In Chromium, an hx-trigger on an htmx event name lint flags never fires, and the name it suggests does."
    wrong = 'htmx:after:swap' if htmx4 else 'htmx-after-swap'
    app, rt = fast_app(htmx4=htmx4)
    fixed = {}   # the fixed element's trigger, once lint has named it
    @rt('/')
    def get(): return Titled('Triggers', Button('Go', id='go', hx_get='/x', hx_target='#out'), Div(id='out'),
                             Div('wrong', id='wrong', hx_get='/wrong', hx_trigger=f'{wrong} from:body'), Div('fixed', id='fixed', hx_get='/fixed', **fixed))
    def swapped(url): return lambda: P(f'swapped {url}')
    for url in ('/x', '/wrong', '/fixed'): rt(url)(swapped(url))
    found = lint(TestClient(app).get('/').text, app)
    assert len(found) == 1 and f'hx-trigger="{wrong} from:body": htmx {4 if htmx4 else 2} never fires {wrong}' in found[0], found
    fixed['hx_trigger'] = found[0].rsplit('write ', 1)[1] + ' from:body once'
    served.app = app
    asked = []
    page.on('request', lambda r: asked.append(httpx.URL(r.url).path))
    page.goto(served.url + '/')
    page.click('#go')
    page.wait_for_selector('#fixed p:has-text("swapped /fixed")', timeout=10_000)   # the suggested name fired on the same swap
    assert '/wrong' not in asked and page.text_content('#wrong') == 'wrong'
