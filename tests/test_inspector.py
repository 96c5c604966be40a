"""The preview's request inspector writes tests ("copy as test"), and its toolbar shows the page's htmx mistakes (`fhnb.lint`):
in a real kernel, and in a real JupyterLab in Chromium."""
import pytest
from harness import write_notebook, open_notebook, run_all_cells, run_cell, cell_output, frame, screenshot, todo_cells

# in the kernel: a POST to its server as the preview's htmx 2 sends it (its HX-* headers, marked as `p`'s)
HTMX_POST = """import urllib.request, urllib.error
def htmx_post(path, data=b'', **hx):
    hdrs = {'HX-Request': 'true', 'HX-Current-URL': current_server().url + '/', 'HX-Fhnb-Preview': p.key, **hx}
    try:
        r = urllib.request.urlopen(urllib.request.Request(current_server().url + path, data=data, headers=hdrs))
        return r.status, r.read().decode()
    except urllib.error.HTTPError as e: return e.code, e.read().decode()"""

def wait_for(kernel, cond:str, timeout:float=10):
    "Wait in the kernel until `cond` is true (the server thread and the snapshot thread work on their own)."
    kernel.ok(f"import time\nend = time.monotonic() + {timeout}\nwhile not ({cond}) and time.monotonic() < end: time.sleep(0.05)\nassert {cond}, {cond!r}")

# ---------- the kernel side ----------

def test_a_logged_htmx_post_becomes_a_cell_that_passes(kernel, tmp_path):
    (tmp_path/'data').mkdir()
    kernel.ok('\n'.join(todo_cells()) + '\np.inspector = True\n' + HTMX_POST)
    kernel.ok("status, body = htmx_post('/add', b'title=Buy+milk', **{'HX-Target': 'list', 'HX-Trigger': 'new'})")
    wait_for(kernel, "p.requests and p.requests[-1]['path'] == '/add'")
    cell = kernel.ok("from fhnb.preview import test_cell, _app_name\nprint(test_cell(p.requests[-1], body, app_name=_app_name(p.port)))").stdout
    assert "hx.page('/')" in cell and "r = hx.post('/add', hx_target='#list', hx_trigger='#new', title='Buy milk')" in cell, cell
    assert "test_eq(r.fragment.find_all('li')[0].text, 'Buy milk')" in cell, cell
    kernel.ok(cell)
    assert kernel.ok("print([t.title for t in todos()])").stdout.strip() == "['Buy milk', 'Buy milk']"

def test_a_redirect_and_a_page_load_become_cells_that_pass(kernel, tmp_path):
    (tmp_path/'data').mkdir()
    kernel.ok('\n'.join(todo_cells()) + "\np.inspector = True\n"
              "@rt('/clear')\ndef post(): return RedirectResponse('/?cleared=1', status_code=303)\n" + HTMX_POST)
    kernel.ok("htmx_post('/clear')")   # htmx follows the 303 with a GET carrying the same headers, as urllib does
    wait_for(kernel, "[e['path'] for e in p.requests[-2:]] == ['/clear', '/']")
    cell = kernel.ok("from fhnb.preview import test_cell, _led_to\n"
                     "post = next(e for e in p.requests if e['path'] == '/clear')\n"
                     "print(test_cell(post, location=_led_to(list(p._log), post)))").stdout
    assert "test_eq(r.status, 303)\ntest_eq(r.headers['location'], '/?cleared=1')" in cell, cell
    kernel.ok(cell)
    kernel.ok("urllib.request.urlopen(current_server().url + '/').read()")   # a page load of the preview's page, as its iframe makes
    wait_for(kernel, "not p.requests[-1]['hx']")
    loaded = kernel.ok("print(test_cell(p.requests[-1]))").stdout
    assert "r = hx.page('/')" in loaded and 'hx.get' not in loaded, loaded
    kernel.ok(loaded)

def test_a_failed_request_becomes_a_cell_that_raises_the_handlers_error(kernel, tmp_path):
    (tmp_path/'data').mkdir()
    kernel.ok('\n'.join(todo_cells()) + "\np.inspector = True\n@rt('/boom')\ndef post(n: int): return n/0\n" + HTMX_POST)
    kernel.ok("assert htmx_post('/boom', b'n=1')[0] == 500")
    wait_for(kernel, "p.requests[-1]['path'] == '/boom'")
    cell = kernel.ok("from fhnb.preview import test_cell\nprint(test_cell(p.requests[-1]))").stdout
    assert "# the app answered 500 (ZeroDivisionError: division by zero)" in cell and "r = hx.post('/boom', n='1')" in cell, cell
    assert kernel.run(cell).error == 'ZeroDivisionError: division by zero'

def test_the_cell_names_the_app_as_the_notebook_does(kernel, tmp_path):
    (tmp_path/'data').mkdir()
    kernel.ok('\n'.join(todo_cells()).replace('app', 'todo_app').replace('fast_todo_app', 'fast_app'))
    assert kernel.ok("from fhnb.preview import _app_name\nprint(_app_name(p.port))").stdout.strip() == 'todo_app'

@pytest.mark.parametrize('example', ['todos', 'welcome'])
def test_the_examples_pages_show_no_htmx_notice(kernel, tmp_path, example):
    (tmp_path/'data').mkdir()
    r = kernel.ok(f"from fhnb.examples.{example} import app\nfrom fhnb import *\nserve_nb(app)\np = preview('/')\nprint(repr(p.lint), 'no snapshot' in p.snapshot)")
    assert r.stdout.strip() == '[] False', r.stdout

TYPOS = "@rt('/')\ndef get(): return Titled('Typos', Button('Save', hx_post='/nowhere'), Button('Load', hx_gte='/'))"
FIXED = "@rt('/')\ndef get(): return Titled('Fixed', Button('Save', hx_post='/nowhere'), Button('Load', hx_get='/'))\n\n@rt('/nowhere')\ndef post(): return 'saved'"

def test_lint_names_element_and_route_and_follows_refreshes(kernel):
    kernel.ok(f"from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n{TYPOS}\nserve_nb(app)\np = preview('/')")
    lines = kernel.ok("print(*p.lint, sep='\\n')").stdout.splitlines()
    assert lines == ['route /: <button> "Save" hx-post="/nowhere": POST /nowhere: no route matches',
                     'route /: <button> "Load" hx-gte: not an htmx attribute; did you mean hx-get?'], lines
    kernel.ok(FIXED)
    wait_for(kernel, "p.lint == [] and 'Fixed' in p.snapshot")

def test_lint_names_the_page_a_redirect_led_to(kernel):
    kernel.ok("from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n@rt('/')\ndef get(): return Redirect('/login')\n\n"
              "@rt('/login')\ndef get(): return Titled('Login', Button('Go', hx_post='/nowhere'))\nserve_nb(app)\np = preview('/')")
    assert kernel.ok("print(*p.lint)").stdout.strip() == 'route /login: <button> "Go" hx-post="/nowhere": POST /nowhere: no route matches'

# ---------- JupyterLab in Chromium ----------

def cell_errors(page, index:int) -> list:
    "The error outputs of cell `index` of the current notebook."
    return page.evaluate('''(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs.toJSON()
        .filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`)''', index)

@pytest.mark.browser
@pytest.mark.parametrize('htmx4', [False, True], ids=['htmx2', 'htmx4'])
def test_copy_as_test_pastes_into_a_cell_that_passes(lab, page, htmx4):
    (lab.root/'data').mkdir()
    write_notebook(lab.root/'todo.ipynb', *todo_cells(htmx4))
    page.context.grant_permissions(['clipboard-read', 'clipboard-write'], origin=lab.base)
    open_notebook(page, lab, 'todo.ipynb')
    run_all_cells(page)
    todo = frame(page, 0)
    todo.wait_for_selector('h1:has-text("Todos")')
    assert todo.evaluate('htmx.version').startswith('4' if htmx4 else '2')
    todo.fill('input[name=title]', 'Buy milk')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("Buy milk")')

    pv = page.locator('.fhnb-preview').first
    pv.locator('button[title="Requests of this preview"]').click()
    post = pv.locator('.fhnb-req', has=page.locator('summary', has_text='POST /add')).first
    post.wait_for(timeout=10_000)
    post.locator('summary').click()
    post.locator('.fhnb-copy-test').click()
    shown = pv.locator('.fhnb-req[open] pre.fhnb-test').first
    shown.wait_for(timeout=10_000)
    text = page.evaluate('navigator.clipboard.readText()')
    assert text == shown.inner_text(), (text, shown.inner_text())
    assert "hx.page('/')" in text and "hx.post('/add', hx_target='#list'" in text and "title='Buy milk'" in text, text
    assert "test_eq(r.fragment.find_all('li')[0].text, 'Buy milk')" in text, text
    assert 'copied as test' in pv.locator('.fhnb-req[open] .fhnb-copy-test').first.inner_text()
    screenshot(page, f'inspector-copy-as-test-{"htmx4" if htmx4 else "htmx2"}')

    i = run_cell(page, text)
    assert cell_errors(page, i) == []
    i = run_cell(page, "print(r.status, len(todos()))")
    assert cell_output(page, i) == '200 2'

@pytest.mark.browser
def test_htmx_badge_lists_the_mistakes_and_goes_when_fixed(lab, page):
    write_notebook(lab.root/'typos.ipynb', f"from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n{TYPOS}",
                   "serve_nb(app)", "preview('/')")
    open_notebook(page, lab, 'typos.ipynb')
    run_all_cells(page)
    pv = page.locator('.fhnb-preview').first
    badge = pv.locator('button.fhnb-lint')
    badge.wait_for(state='visible', timeout=15_000)
    assert badge.inner_text() == '⚠ 2 htmx'
    badge.click()
    lines = pv.locator('.fhnb-lint-line')
    assert lines.all_inner_texts() == ['route /: <button> "Save" hx-post="/nowhere": POST /nowhere: no route matches',
                                       'route /: <button> "Load" hx-gte: not an htmx attribute; did you mean hx-get?']
    # another page in the preview: its own lint (none); back: the mistakes again
    screenshot(page, 'preview-htmx-badge')
    run_cell(page, "@rt('/clean')\ndef get(): return P('clean')")
    for path, hidden in (('/clean', True), ('/', False)):
        pv.locator('.fhnb-address').fill(path)
        pv.locator('.fhnb-address').press('Enter')
        badge.wait_for(state='hidden' if hidden else 'visible', timeout=10_000)
    run_cell(page, FIXED)
    pv.locator('iframe').element_handle().content_frame().wait_for_selector('h1:has-text("Fixed")', timeout=10_000)
    badge.wait_for(state='hidden', timeout=10_000)
    assert pv.locator('.fhnb-lint-lines').is_hidden()
