"""The same 10 tests of a todo app through the pytest plugin's `app_page` (Chromium, htmx settling) and through `hx`
(in process): pytest's wall time for each suite, median of --repeats runs, interleaved, and the ratio app_page / hx.
Each run is a whole `python -m pytest` in a fresh process (start-up, Chromium's launch and the app's import included)."""
import argparse, statistics, subprocess, sys, tempfile, time
from pathlib import Path

APP = '''
from fasthtml.common import *
app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, pk='id'), htmlkw={'lang': 'en'})
@rt('/')
def get(): return Titled('Todos', Ul(*[Li(t.title) for t in todos()], id='list'),
                         Form(Input(name='title', aria_label='Title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'))
@rt('/add')
def post(title:str): return Li(todos.insert(title=title).title)
'''
HX = '''
import pytest
@pytest.mark.parametrize('n', range(10))
def test_add(hx, n):
    r = hx.post('/add', title=f'item {n}')
    assert r.status == 200 and r.fragment.li.text == f'item {n}'
'''
PAGE = '''
import pytest
@pytest.mark.parametrize('n', range(10))
def test_add(app_page, n):
    app_page.fill('input[name=title]', f'item {n}')
    app_page.hx_submit('form')
    assert app_page.locator('#list li').last.inner_text() == f'item {n}'
'''

def run(folder:Path, test:str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', test], cwd=folder, capture_output=True, text=True)
    took = time.perf_counter() - t
    if r.returncode: sys.exit(f'{test} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}')
    return took

def main(repeats:int):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d/'todo_app.py').write_text(APP)
        (d/'settings.ini').write_text('[fhnb]\napp = todo_app:app\n')
        (d/'test_hx.py').write_text(HX)
        (d/'test_page.py').write_text(PAGE)
        times = {'hx': [], 'app_page': []}
        for _ in range(repeats):
            times['hx'].append(run(d, 'test_hx.py'))
            times['app_page'].append(run(d, 'test_page.py'))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items(): print(f'{k:<9} 10 tests: median {med[k]:.2f}s  runs {" ".join(f"{t:.2f}" for t in v)}')
    print(f'ratio app_page / hx: {med["app_page"] / med["hx"]:.1f}x')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5, help='runs of each suite (default 5)')
    main(ap.parse_args().repeats)
