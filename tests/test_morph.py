"""A preview refreshed by a cell morphs its page in place (what the user typed, opened and focused stays), on htmx 2 and 4;
a page whose <head> changed reloads in full, and the inspector says so. JupyterLab in Chromium, a real kernel and server."""
import pytest
from harness import cell_output, frame, open_notebook, run_all_cells, run_cell, write_notebook

def cells(htmx4:bool) -> list[str]:
    four = ', htmx4=True' if htmx4 else ''
    return [("from fasthtml.common import *\n"
             f"app, rt, todos, Todo = fast_app('data/todos.db'{four}, todos=dict(id=int, title=str, done=bool, pk='id'))"),
            routes('Todos'), "from fhnb import *\nserve_nb(app)", "preview('/')"]

PING = "Button('Ping', id='ping', hx_post='/add?title=pinged', hx_target='#list', hx_swap='beforeend'), "

def routes(title:str, extra:str='', more:str='') -> str:
    "The todo page: a list, a form that adds by HTMX, a <details>; `extra` goes first in the page (e.g. a head element), `more` after the list."
    return ("@rt('/')\n"
            f"def get(): return {extra}Titled({title!r}, Ul(*[Li(t.title) for t in todos()], id='list'), {more}\n"
            "    Details(Summary('More'), P('Hidden until opened'), id='more'),\n"
            "    Form(Input(name='title', id='title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'))\n\n"
            "@rt('/add')\n"
            "def post(title: str): return Li(todos.insert(title=title, done=False).title)")

def user_state(f) -> dict:
    "What the user did to the page: the input's text, focus and caret, the details, and a mark a reload would lose."
    return f.evaluate('''() => { const i = document.querySelector('#title');
        return { text: i.value, focused: document.activeElement === i, caret: i.selectionStart,
                 open: document.querySelector('#more').open, same_page: window.__kept === 1 }; }''')

@pytest.fixture
def todo(lab, page, request):
    "The todo notebook open and run on htmx `request.param`; its preview's page, once shown."
    (lab.root/'data').mkdir()
    write_notebook(lab.root/'todo.ipynb', *cells(request.param == '4'))
    open_notebook(page, lab, 'todo.ipynb')
    run_all_cells(page)
    f = frame(page)
    f.wait_for_selector('h1:has-text("Todos")')
    assert f.evaluate('htmx.version').startswith(request.param)
    return f

def kept(focused:bool) -> dict:
    "What `user_state` must be after a morph: all kept (`focused`: JupyterLab takes the focus when the user runs a cell)."
    return dict(text='half-typed todo', focused=focused, caret=4, open=True, same_page=True)

def execute(page, code:str):
    "Run `code` in the notebook's kernel without touching the notebook (JupyterLab keeps the focus where it is: in the page)."
    page.evaluate("code => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.requestExecute({code}).done", code)

def type_and_open(f):
    "Type into the input, leave the caret inside it, open the <details>; mark the page so that a reload shows."
    f.evaluate('window.__kept = 1')
    f.click('#more summary')
    f.fill('#title', 'half-typed todo')
    f.evaluate("() => document.querySelector('#title').setSelectionRange(4, 4)")
    assert user_state(f) == kept(focused=True)

@pytest.mark.browser
@pytest.mark.parametrize('todo', ['2', '4'], indirect=True)
def test_redefined_route_morphs_and_keeps_what_the_user_did(page, todo):
    type_and_open(todo)
    run_cell(page, routes('My todos', more=PING), index=1)
    todo.wait_for_selector('h1:has-text("My todos")', timeout=10_000)
    assert user_state(todo) == kept(focused=False)
    assert todo.evaluate('document.title') == 'My todos'
    assert page.locator('.fhnb-preview').nth(0).get_attribute('data-refresh') == 'morph'
    # htmx drives the morphed page: the new button (processed after the morph) and the form that was there
    todo.click('#ping')
    todo.wait_for_selector('#list li:has-text("pinged")')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("half-typed todo")')
    assert todo.evaluate('window.__kept') == 1

@pytest.mark.browser
@pytest.mark.parametrize('todo', ['2', '4'], indirect=True)
def test_row_from_a_cell_shows_without_losing_the_input(page, todo):
    type_and_open(todo)
    execute(page, "todos.insert(title='From a cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From a cell")', timeout=10_000)
    assert user_state(todo) == kept(focused=True)
    run_cell(page, "todos.insert(title='From another cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From another cell")', timeout=10_000)
    assert user_state(todo) == kept(focused=False)

@pytest.mark.browser
@pytest.mark.parametrize('todo', ['2', '4'], indirect=True)
def test_changed_head_reloads_in_full_and_the_inspector_says_so(page, todo):
    type_and_open(todo)
    run_cell(page, routes('Styled todos', extra="Style('h1 { color: rgb(200, 0, 0) !important }'), "), index=1)
    todo = frame(page)
    todo.wait_for_selector('h1:has-text("Styled todos")', timeout=10_000)
    assert todo.evaluate("getComputedStyle(document.querySelector('h1')).color") == 'rgb(200, 0, 0)'
    assert todo.evaluate('window.__kept') is None   # a new page
    pv = page.locator('.fhnb-preview').nth(0)
    assert pv.get_attribute('data-refresh') == 'reload'
    pv.locator('button[title="Requests of this preview"]').click()
    assert pv.locator('.fhnb-refreshed').inner_text() == "last refresh: reloaded in full: the page's <head> changed (scripts, styles, links or meta)"

GREETING = "def Greeting(): return P({!r}, id='greet')"
GREET_PAGE = ("@rt('/')\n"
              "def get(): return Titled('Greetings', Greeting(), Details(Summary('More'), P('Hidden until opened'), id='more'),\n"
              "    Form(Input(name='title', id='title'), Button('Add')))")

@pytest.mark.browser
def test_redefined_component_refreshes_and_a_cell_that_changes_nothing_does_not(lab, page):
    "Only the component the route calls is redefined: the page shows it by itself, keeping what the user did; `x = 42` refreshes nothing."
    write_notebook(lab.root/'greet.ipynb', "from fasthtml.common import *\napp, rt = fast_app()", GREETING.format('Hello'), GREET_PAGE,
                   "from fhnb import *\nserve_nb(app)", "preview('/')")
    open_notebook(page, lab, 'greet.ipynb')
    run_all_cells(page)
    f = frame(page)
    f.wait_for_selector('#greet:has-text("Hello")')
    type_and_open(f)
    execute(page, 'x = 41 + 1')   # changes nothing the page shows
    execute(page, GREETING.format('Bonjour'))   # the component alone, not the route
    f.wait_for_selector('#greet:has-text("Bonjour")', timeout=10_000)
    assert user_state(f) == kept(focused=True)
    assert page.locator('.fhnb-preview').nth(0).get_attribute('data-refresh') == 'morph'
    n = run_cell(page, 'from fhnb.preview import live_previews\n[p.bump for p in live_previews()]')
    assert cell_output(page, n) == '[1]'   # one refresh: the component's, none for `x = 42`

SEARCH_PAGE = ("@rt('/')\n"
               "def get(): return Titled('Search', Input(name='q', id='q', hx_get='/search', hx_target='#results', hx_trigger='input'),\n"
               "    Ul(*[Li(n) for n in NAMES], id='results'))\n\n"
               "@rt('/search')\n"
               "def get(q: str = ''): return tuple(Li(n) for n in NAMES if q.lower() in n.lower())")

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [False, True], ids=['htmx2', 'htmx4'])
def test_refresh_sends_again_the_gets_that_built_the_page(lab, page, htmx4):
    "Search-as-you-type, then a cell changes the data: the list is the new code's answer to what was typed, not the unfiltered page."
    four = ', htmx4=True' if htmx4 else ''
    write_notebook(lab.root/'search.ipynb', f"from fasthtml.common import *\napp, rt = fast_app({four.lstrip(', ')})", "NAMES = ['Jo', 'Ann', 'Bob']",
                   SEARCH_PAGE, "from fhnb import *\nserve_nb(app)", "preview('/')")
    open_notebook(page, lab, 'search.ipynb')
    run_all_cells(page)
    f = frame(page)
    f.wait_for_selector('#results li:has-text("Bob")')
    f.locator('#q').press_sequentially('jo')
    f.wait_for_function("() => document.querySelectorAll('#results li').length === 1")
    execute(page, "NAMES = ['Jo', 'Ann', 'Bob', 'Joe']")   # a constant: the page (and the search) now answer differently
    f.wait_for_function("() => [...document.querySelectorAll('#results li')].map(l => l.textContent).join() === 'Jo,Joe'", timeout=10_000)
    assert f.locator('#q').input_value() == 'jo'
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    assert 'sent again: GET /search' in pv.locator('.fhnb-refreshed').inner_text()

@pytest.mark.browser
@pytest.mark.parametrize('todo', ['2', '4'], indirect=True)
def test_refresh_never_sends_a_post_again_and_says_so(page, todo):
    "After Add (a POST), a refresh keeps the page's inputs, sends nothing again, and the inspector names what it did not send."
    todo.fill('#title', 'Posted once')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("Posted once")')
    execute(page, "todos.insert(title='From a cell', done=False)")
    todo.wait_for_selector('#list li:has-text("From a cell")', timeout=10_000)
    assert todo.locator('#list li:has-text("Posted once")').count() == 1
    pv = page.locator('.fhnb-preview').nth(0)
    pv.locator('button[title="Requests of this preview"]').click()
    assert 'not sent again: POST /add (a request that is not a GET changed the page' in pv.locator('.fhnb-refreshed').inner_text()
