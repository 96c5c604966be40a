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
