"""What a newcomer meets first, as they meet it: the README's Quick start pasted cell by cell, the seed's hand-built
interactive page, in JupyterLab in Chromium and under `fhnb serve`."""
import re
from pathlib import Path
import httpx, pytest
from bs4 import BeautifulSoup
from harness import frame, open_notebook, run_all_cells, run_cell, serving, write_notebook

ROOT = Path(__file__).resolve().parent.parent

def quick_start_blocks() -> list[str]:
    "The python blocks of README.md's Quick start, in order."
    text = (ROOT/'README.md').read_text()
    section = text.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    return [b.strip() for b in re.findall(r'```python\n(.*?)```', section, re.S)]

def test_quick_start_is_cells_the_reader_can_paste():
    blocks = quick_start_blocks()
    assert len(blocks) >= 3 and blocks[0].startswith('from fasthtml.common import *')
    assert any(b.startswith('preview(') for b in blocks)

@pytest.mark.browser
def test_readme_quick_start_shows_the_live_page(lab, page):
    "README.md's Quick start, one block per cell: the preview shows the page, Add swaps the list, the table shows inline."
    (lab.root/'data').mkdir()
    write_notebook(lab.root/'quick.ipynb', *quick_start_blocks())
    open_notebook(page, lab, 'quick.ipynb')
    run_all_cells(page)
    todo = frame(page)
    todo.wait_for_selector('h1:has-text("Todos")')
    todo.fill('input[name=title]', 'Buy milk')
    todo.click('button:has-text("Add")')
    todo.wait_for_selector('#list li:has-text("Buy milk")', timeout=10_000)
    assert page.locator('.jp-OutputArea-output:has-text("todos")').count() >= 1   # the table's own output
    assert page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
    # edit the first block (made before `from fhnb import *`) and run it again: the same preview shows the new page, the typing kept
    todo.fill('input[name=title]', 'half typed')
    run_cell(page, quick_start_blocks()[0].replace("Titled('Todos'", "Titled('My todos'"), index=0)
    todo.wait_for_selector('h1:has-text("My todos")', timeout=10_000)
    assert todo.input_value('input[name=title]') == 'half typed'
    assert 'Buy milk' in todo.inner_text('#list')

SEED_VISITORS = '''app, rt, users, User = fast_app('data/visitors.db', users={'username': str})

@rt('/')
def get():
    return HTML(Body(Main(H1('Welcome'),
        Input(name='username', placeholder='Your name', hx_post='/welcome', hx_target='#welcome-msg', hx_swap='innerHTML'),
        Div(id='welcome-msg'))))

@rt('/welcome')
def post(username: str):
    users.insert(username=username)
    return P(f'Welcome {username}!')

serve()'''

@pytest.mark.browser
def test_seed_hand_built_page_is_interactive(lab, page):
    "The seed's visitors page, pasted verbatim: typing a name and pressing Enter greets and stores the visitor."
    write_notebook(lab.root/'seed.ipynb', 'from fasthtml.common import *\nfrom fhnb import *', SEED_VISITORS)
    open_notebook(page, lab, 'seed.ipynb')
    run_all_cells(page)
    f = frame(page)
    f.wait_for_selector('input[name=username]')
    f.fill('input[name=username]', 'zoe')
    f.press('input[name=username]', 'Enter')
    f.wait_for_selector('#welcome-msg p:has-text("Welcome zoe!")', timeout=10_000)
    pv = page.locator('.fhnb-preview').first   # the inspector says what fhnb did to the page
    pv.locator('button[title="Requests of this preview"]').click()
    get = pv.locator('.fhnb-req summary', has_text='GET /').first
    get.wait_for(timeout=10_000)
    get.click()
    assert "added the app's headers" in pv.locator('.fhnb-req[open] .fhnb-note-line').first.inner_text()
    run_cell(page, "print([u.username for u in users()])")
    assert "['zoe']" in page.locator('.jp-Cell').last.locator('.jp-OutputArea').inner_text()

def test_fhnb_serve_gives_hand_built_documents_the_app_headers(tmp_path):
    "Under `fhnb serve` a hand-built `<html>` page loads the app's htmx (offline or not), and its form posts work."
    (tmp_path/'seedapp.py').write_text('from fasthtml.common import *\n' + SEED_VISITORS.replace('HTML(', 'Html(').replace('serve()', ''))
    for flag in ('--offline', '--no-offline'):
        with serving('seedapp:app', '--port', '0', flag, cwd=tmp_path) as (url, _):
            with httpx.Client(base_url=url) as c:
                page = BeautifulSoup(c.get('/').text, 'html.parser')
                assert page.input['hx-post'] == '/welcome'
                assert [s for s in page.find_all('script', src=True) if 'htmx.org@' in s['src']], flag
                assert c.post('/welcome', data={'username': 'ann'}, headers={'HX-Request': 'true'}).text.strip() == '<p>Welcome ann!</p>'
