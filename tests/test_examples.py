"""The example apps exported from nbs/examples, served by `fhnb serve` in a subprocess and driven over HTTP
through every user action their notebooks show."""
import shutil
from pathlib import Path
import httpx, pytest
from bs4 import BeautifulSoup
from harness import serving, open_notebook, run_all_cells, screenshot, frame as preview_frame

HX = {'HX-Request': 'true'}

def soup(r: httpx.Response) -> BeautifulSoup:
    assert r.status_code == 200, f'{r.request.method} {r.request.url} -> {r.status_code}\n{r.text[:500]}'
    return BeautifulSoup(r.text, 'html.parser')

@pytest.fixture
def todos_url(tmp_path):
    with serving('fhnb.examples.todos:app', '--port', '0', cwd=tmp_path) as (url, _): yield url

@pytest.fixture
def welcome_url(tmp_path):
    with serving('fhnb.examples.welcome:app', '--port', '0', cwd=tmp_path) as (url, _): yield url

def test_welcome_greets_and_lists_visitors(welcome_url, tmp_path):
    with httpx.Client(base_url=welcome_url) as c:
        page = soup(c.get('/'))
        assert page.h1.text == 'Welcome' and page.select_one('input')['hx-post'] == '/welcome'
        htmx = [s['src'] for s in page.find_all('script', src=True) if 'htmx.org@' in s['src']]
        assert htmx and all(s.startswith('/_fhnb/static/vendor/') for s in htmx), htmx   # htmx, served offline
        assert c.get(htmx[0]).status_code == 200
        assert page.select('#visitors li') == []
        r = soup(c.post('/welcome', data={'username': 'ann'}, headers=HX))
        assert r.p.text == 'Welcome ann!'
        assert [li.text for li in r.select('#visitors li')] == ['ann']   # the out-of-band list
        soup(c.post('/welcome', data={'username': 'bob'}, headers=HX))
        assert [li.text for li in soup(c.get('/')).select('#visitors li')] == ['ann', 'bob']
        assert soup(c.post('/welcome', data={'username': ' '}, headers=HX)).p.text == 'Type a name first.'
    assert (tmp_path/'data'/'visitors.db').exists()

def login(url, name) -> httpx.Client:
    c = httpx.Client(base_url=url, follow_redirects=True)
    assert soup(c.get('/')).h1.text == 'Who are you?'   # redirected to the login page
    assert soup(c.post('/login', data={'user': name})).h1.text == f"{name}'s todos"
    return c

def titles(page: BeautifulSoup) -> list:
    return [(li.span or li.find('del')).text for li in page.select('#todo-list li')]

def test_todos_every_action_per_user(todos_url):
    ann, bob = login(todos_url, 'ann'), login(todos_url, 'bob')
    try:
        for title, prio in [('Write report', 2), ('Water plants', 1), ('Fix the roof', 5)]:
            frag = soup(ann.post('/todos', data={'title': title, 'priority': prio}, headers=HX))
        assert titles(frag) == ['Fix the roof', 'Write report', 'Water plants']   # ordered by priority
        roof = frag.select('#todo-list li')[0]['id'].removeprefix('todo-')
        done = soup(ann.post(f'/todos/{roof}/toggle', headers=HX))
        assert done.select_one(f'#todo-{roof} del').text == 'Fix the roof'
        assert done.select_one(f'#todo-{roof} input').has_attr('checked')
        undone = soup(ann.post(f'/todos/{roof}/toggle', headers=HX))
        assert undone.select_one(f'#todo-{roof} span').text == 'Fix the roof'
        plants = [li['id'].removeprefix('todo-') for li in undone.select('#todo-list li') if li.span.text == 'Water plants'][0]
        assert titles(soup(ann.delete(f'/todos/{plants}', headers=HX))) == ['Fix the roof', 'Write report']
        # Bob sees only his own rows and cannot touch Ann's.
        assert titles(soup(bob.get('/'))) == []
        soup(bob.post('/todos', data={'title': 'Call mum', 'priority': 3}, headers=HX))
        assert titles(soup(bob.get('/'))) == ['Call mum']
        assert bob.post(f'/todos/{roof}/toggle', headers=HX).status_code == 404
        assert bob.delete(f'/todos/{roof}', headers=HX).status_code == 404
        assert titles(soup(ann.get('/'))) == ['Fix the roof', 'Write report']
        # Logging out forgets the user.
        assert soup(ann.get('/logout')).h1.text == 'Who are you?'
    finally:
        ann.close(); bob.close()

ROOT = Path(__file__).resolve().parent.parent

@pytest.mark.browser
def test_welcome_notebook_works_in_jupyterlab(lab, page):
    "Run the welcome notebook as a user would; type a name into the last preview and press Enter: the greeting and the list update in the cell."
    shutil.copy(ROOT/'nbs'/'examples'/'welcome.ipynb', lab.root)
    open_notebook(page, lab, 'welcome.ipynb')
    run_all_cells(page)
    frame = preview_frame(page, -1)
    frame.wait_for_selector('#visitors li', timeout=30_000)
    frame.fill('input[name=username]', 'zoe')
    frame.press('input[name=username]', 'Enter')
    frame.wait_for_selector('#welcome-msg p:has-text("Welcome zoe!")', timeout=10_000)
    assert [li.inner_text() for li in frame.query_selector_all('#visitors li')] == ['ann', 'bob', 'zoe']
    screenshot(page, 'example-welcome')

def test_live_app_under_fhnb_serve(tmp_path):
    "The exported live app: SSE messages stream from `fhnb serve`, and the chat answers over a real WebSocket."
    import json
    from itertools import islice
    from websockets.sync.client import connect
    with serving('fhnb.examples.live:app', '--port', '0', cwd=tmp_path) as (url, _):
        with httpx.stream('GET', url + '/ticks', timeout=10) as r:
            assert list(islice((l for l in r.iter_lines() if l), 2)) == ['data: <span id="count">0</span>', 'data: <span id="count">1</span>']
        with connect(url.replace('http://', 'ws://') + '/chat', origin=url) as ws:
            ws.send(json.dumps({'msg': 'hi'}))
            assert '<li>hi</li>' in ws.recv(timeout=10)
