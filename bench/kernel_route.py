"""Kernel route benchmark: one app's preview by the direct route and by the kernel route (issue 16), in one JupyterLab.

    .venv/bin/python bench/kernel_route.py [--repeats 9] [--lab-arg=--ServerApp.jpserver_extensions=fhnb.extension=False]

One notebook shows `/` twice: the first preview takes the direct route, the second is put on the kernel route
(`Preview.proxy = 'kernel'`: the page and its requests over the widget's comm). Times are taken in the page with
`performance.now()`, on an idle kernel, the two routes interleaved:

- page: from clicking the preview's reload button to the iframe's `load` (page, scripts and assets loaded).
- swap: from clicking Add in the page to the new row in the list (an HTMX POST and its swap).

JupyterLab loads fhnb's Jupyter server extension (`fhnb.extension`: TCP_NODELAY on kernel websockets, the widget's
code served) as an installed fhnb has it (the wheel's config file; `make` puts the same file in the venv); the
`--lab-arg` above measures without it.

Target (issue 16): the kernel route within 1.5x the direct one for the page, 2x for the swap. Medians over repeats;
the machine is shared: expect noise.
"""
import statistics, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview import SETUP, FHNB, notebook_page, run_main

CELLS = [*SETUP, FHNB, "p = preview('/')\np.proxy = 'kernel'\np"]   # the todo app of bench/preview.py, previewed twice
ROUTES = ['direct', 'kernel']

# Reload preview `n`; resolve with ms until its iframe's next `load`.
PAGE = '''async (n) => {
  const pv = document.querySelectorAll('.fhnb-preview')[n], f = pv.querySelector('iframe');
  return await new Promise((ok) => {
    f.addEventListener('load', () => ok(performance.now() - t0), { once: true });
    const t0 = performance.now();
    pv.querySelector('button[title="Reload"]').click();
  }); }'''

# In a preview's page: type `title`, click Add; resolve with ms until the row is in the list.
SWAP = '''async (title) => {
  const list = document.querySelector('#list'), n = list.children.length;
  document.querySelector('input[name=title]').value = title;
  return await new Promise((ok) => {
    new MutationObserver((_, o) => { if (list.children.length > n) { o.disconnect(); ok(performance.now() - t0); } }).observe(list, { childList: true });
    const t0 = performance.now();
    document.querySelector('form button').click();
  }); }'''

def frame(page, n:int):
    page.wait_for_selector(f'.fhnb-preview >> nth={n}', timeout=30_000)
    f = page.locator('.fhnb-preview iframe').nth(n).element_handle().content_frame()
    f.wait_for_selector('#list', timeout=30_000)
    return f

def measure(page, repeats:int) -> dict:
    "Medians of page and swap times per route."
    times = {(r, k): [] for r in ROUTES for k in ('page', 'swap')}
    for i in range(repeats + 1):   # the first round warms up (assets cached, subshell started): not counted
        for n, r in enumerate(ROUTES):
            ms = page.evaluate(PAGE, n)
            swap = frame(page, n).evaluate(SWAP, f'{r} {i}')
            if i: times[r, 'page'].append(ms); times[r, 'swap'].append(swap)
    return {k: statistics.median(v) for k, v in times.items()}

def main(repeats:int, lab_args:tuple=()):
    with notebook_page(CELLS, lab_args) as page:
        routes = [page.locator('.fhnb-preview').nth(n).get_attribute('data-route') for n in range(2)]
        assert routes == ROUTES, routes
        for n in range(2): frame(page, n)
        res = measure(page, repeats)
    for k in ('page', 'swap'):
        d, kr = res['direct', k], res['kernel', k]
        print(f'{k}: direct {d:.1f} ms, kernel {kr:.1f} ms, kernel/direct {kr / d:.2f}x (median of {repeats})')

if __name__ == '__main__': run_main(main, __doc__, 9)
