"""Preview benchmark: fhnb's `preview` against fasthtml's `HTMX()` iframe, in a real JupyterLab driven by Chromium.

    .venv/bin/python bench/preview.py [--repeats 7] [--lab-arg=--ServerApp.jpserver_extensions=fhnb.extension=False]

Both show the same app from the kernel's server (fhnb's `NbServer`), so the comparison is about the
preview, not the server. JupyterLab loads fhnb's server extension (`fhnb.extension`: TCP_NODELAY on kernel websockets,
the widget's code served for a page to import once) as an installed fhnb has it (the wheel's config file; `make` puts
the same file in the venv); the `--lab-arg` above measures without it. A warm-up preview of each kind runs first: the
first fhnb preview of a kernel brings its code as text, and tells the kernel where JupyterLab serves it.
Times are taken in the page with `performance.now()`:

- visible: from asking JupyterLab to run the preview cell to the iframe that cell's output shows being in
  the output with its page and scripts loaded (`load`), +1 animation frame. The cell is written and the page has
  settled before it runs, as when a user runs a cell they typed (`SETTLE`): run at once after inserting it, JupyterLab's
  rendering of the new cell held up the kernel's first answer by 10-13 ms, in both columns. The outputs are cleared
  after each run, so each `HTMX()` iframe is the only page of its site (`localhost`, cross-site to JupyterLab at
  127.0.0.1, most likely in a renderer process of its own, started anew). With the earlier runs' outputs left in the
  notebook instead, one session of 16 alternated runs gave `HTMX()` 88 and 77 ms (medians of the first 7 and the last
  9) and fhnb 87 and 95 ms: about even, where this protocol gives fhnb about 0.7 of `HTMX()`.
- refresh: from the browser seeing a cell that redefines `/` finish (its execution count arrives) to the
  new page shown (+1 animation frame): for fhnb, its page reporting the morph done (`refreshed`), or the
  `load` of the page when it reloads in full; for `HTMX()`, the `load` of its new iframe. fhnb's preview
  refreshes by itself (0 manual steps). `HTMX()` does not: its refresh is measured as the next manual step
  done at once by the script, re-running the `HTMX()` cell, so its figure leaves out the human's reaction
  time. Negative means the page was already refreshing when the cell's reply arrived (the refresh starts
  in the kernel's `post_run_cell`).
- swap: in each one's page, from clicking Add to the new row in the list (+1 animation frame): an HTMX
  request and swap, the same in both (the same server and app).

Medians over repeats, fhnb and the reference interleaved. The machine is shared: expect noise.
"""
import argparse, statistics, sys, tempfile
from contextlib import contextmanager
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tests'))
from harness import CHROMIUM, CHROMIUM_ARGS, JupyterLab, write_notebook, open_notebook, run_all_cells

SETUP = ["from fasthtml.common import *\nfrom fasthtml.jupyter import HTMX\n"
         "app, rt, todos, Todo = fast_app('data/todos.db', todos=dict(id=int, title=str, done=bool, pk='id'))\n"
         "for i in range(5): todos.insert(title=f'item {i}', done=False)",
         "@rt('/')\ndef get(): return Titled('Todos', Ul(*[Li(t.title) for t in todos()], id='list'),\n"
         "    Form(Input(name='title'), Button('Add'), hx_post='/add', hx_target='#list', hx_swap='beforeend'))\n"
         "@rt('/add')\ndef post(title: str): return Li(todos.insert(title=title, done=False).title)",
         "from fhnb import *\nsrv = serve_nb(app)"]
FHNB = "preview('/')"
REF = "HTMX('/', host='localhost', port=srv.port)"
ROUTE = "@rt('/')\ndef get(): return Titled('Todos {n}', Ul(*[Li(t.title) for t in todos()], id='list'))"

# In a page: type a title, click Add, resolve with ms until the row is in the list (+1 animation frame).
SWAP = '''async (title) => {
  const list = document.getElementById('list'), n = list.children.length;
  document.querySelector('input[name=title]').value = title;
  const t0 = performance.now();
  document.querySelector('button').click();
  return await new Promise((resolve) => {
    const obs = new MutationObserver(() => { if (list.children.length > n) { obs.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - t0)); } });
    obs.observe(list, { childList: true });
    setTimeout(() => resolve(-1), 10000);
  }); }'''

# Wait for the page to settle after a cell's source was set, as it has when a user runs a cell they typed: the editor's
# update and JupyterLab's rendering of a new cell are done (two animation frames, then an idle moment).
SETTLE = 'await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => requestIdleCallback(ok, { timeout: 1000 }))));'

# In a function of `code`: add a cell at the end with `code` and let the page settle; `app`, `nb` and the `cell` for what follows.
NEW_CELL = '''const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  await app.commands.execute('notebook:insert-cell-below');
  const cell = nb.widgets[nb.activeCellIndex];
  cell.model.sharedModel.setSource(code);
  ''' + SETTLE

# Add a cell at the end with `code`; resolve with its index.
ADD_CELL = '''async (code) => { NEW_CELL; return nb.activeCellIndex; }'''.replace('NEW_CELL', NEW_CELL)

# Add a cell at the end with `code`, let the page settle, run it, resolve with ms until its output's iframe has loaded a page.
VISIBLE = '''async (code) => {
  NEW_CELL
  return await new Promise((resolve) => {
    // an iframe can load before it is in the output (fhnb parks a preview's page while the output is on its way): loads seen anywhere count
    const loaded = new WeakSet(), onLoad = (e) => { if (e.target.tagName === 'IFRAME' && e.target.getAttribute('src')) { loaded.add(e.target); watch(); } };
    document.addEventListener('load', onLoad, true);
    const done = () => requestAnimationFrame(() => { obs.disconnect(); document.removeEventListener('load', onLoad, true); resolve([performance.now() - t0, nb.activeCellIndex]); });
    const watch = () => { const f = cell.node.querySelector('.jp-OutputArea iframe');
      if (f && !f.__bench && loaded.has(f)) { f.__bench = true; done(); } };
    const obs = new MutationObserver(watch);
    obs.observe(cell.node, { subtree: true, childList: true, attributes: true });
    const t0 = performance.now();
    app.commands.execute('notebook:run-cell');
    setTimeout(() => resolve([-1, cell.node.innerHTML.slice(0, 3000)]), 30000);
  }); }'''.replace('NEW_CELL', NEW_CELL)

# Run cell `ri` (set to `code`, the page settled); resolve with [ms from its execution count arriving to the next load of the iframe in
# cell `pi`, ms from starting it]. With `rerun`, re-run cell `pi` as soon as `ri` finished (the manual step).
REFRESH = '''async ([code, ri, pi, rerun]) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  const rc = nb.widgets[ri], pc = nb.widgets[pi];
  rc.model.sharedModel.setSource(code);
  SETTLE
  return await new Promise((resolve) => {
    let done = null, t0;
    const hooked = new Set();
    const shown = () => requestAnimationFrame(() => { const t = performance.now(); obs.disconnect(); removeEventListener('message', morphed);
        if (done === null) { // shown before the reply: the refresh was on its way already
          const wait = () => done === null ? setTimeout(wait, 1) : resolve([t - done, t - t0]); wait(); }
        else resolve([t - done, t - t0]); });
    const hook = (f) => { if (hooked.has(f)) return; hooked.add(f); f.addEventListener('load', shown, { once: true }); };
    const morphed = (e) => { const f = pc.node.querySelector('.jp-OutputArea iframe');   // fhnb's page morphed in place: no load
      if (f && e.source === f.contentWindow && e.data && e.data.fhnb === 'refreshed' && e.data.how === 'morph') shown(); };
    addEventListener('message', morphed);
    const current = pc.node.querySelector('.jp-OutputArea iframe');
    if (current && !rerun) hook(current);
    const obs = new MutationObserver(() => { const f = pc.node.querySelector('.jp-OutputArea iframe'); if (f && rerun && f !== current) hook(f); });
    obs.observe(pc.node, { subtree: true, childList: true });
    rc.model.stateChanged.connect(function once(m, a) {
      if (a.name !== 'executionCount' || !a.newValue) return;
      rc.model.stateChanged.disconnect(once); done = performance.now();
      if (rerun) { nb.activeCellIndex = pi; nb.deselectAll(); app.commands.execute('notebook:run-cell'); }
    });
    nb.activeCellIndex = ri; nb.deselectAll();
    t0 = performance.now();
    app.commands.execute('notebook:run-cell');
    setTimeout(() => resolve([null, null]), 30000);
  }); }'''.replace('SETTLE', SETTLE)

def wait_idle(page):
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle' && "
                           "![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))", timeout=60_000)

def stats(xs): return statistics.median(xs), min(xs), max(xs)

@contextmanager
def notebook_page(cells:list, lab_args:tuple=()):
    "A Chromium page with a notebook of `cells` open in a new JupyterLab (given `lab_args`), its cells run; both stopped after."
    from playwright.sync_api import sync_playwright
    root = Path(tempfile.mkdtemp(prefix='fhnb-bench-')); (root/'data').mkdir()
    write_notebook(root/'bench.ipynb', *cells)
    lab = JupyterLab(root, extra_args=tuple(lab_args))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={'width': 1280, 'height': 900}).new_page()
            open_notebook(page, lab, 'bench.ipynb'); run_all_cells(page)
            try: yield page
            finally: browser.close()
    finally: lab.stop()

def main(repeats:int, lab_args:tuple=()):
    res = {k: [] for k in ('visible fhnb', 'visible ref', 'refresh fhnb', 'refresh ref', 'refresh fhnb from start', 'swap fhnb', 'swap ref')}
    with notebook_page(SETUP, lab_args) as page:
        for code in (FHNB, REF): page.evaluate(VISIBLE, code); wait_idle(page)   # warm-up: connections; the kernel learns where the widget's code is
        for _ in range(repeats):
            for name, code in (('visible fhnb', FHNB), ('visible ref', REF)):
                ms, _i = page.evaluate(VISIBLE, code); wait_idle(page)
                if ms >= 0: res[name].append(ms)
                else: print(f'{name}: no page within 30 s', file=sys.stderr)
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        # refresh: one route cell, one preview cell, one HTMX() cell
        run = lambda code: page.evaluate(VISIBLE, code)[1]
        ri = page.evaluate(ADD_CELL, 'x = 0')
        pi = run(FHNB); wait_idle(page)
        hi = run(REF); wait_idle(page)
        frames = [page.evaluate_handle("i => window.jupyterapp.shell.currentWidget.content.widgets[i].node.querySelector('.jp-OutputArea iframe')", i)
                  .as_element().content_frame() for i in (pi, hi)]
        for f in frames: f.wait_for_selector('#list')
        for n in range(repeats):
            for name, f in zip(('swap fhnb', 'swap ref'), frames):
                f.frame_element().scroll_into_view_if_needed()   # Chrome runs no animation frames in an off-screen iframe
                ms = f.evaluate(SWAP, f'{name} {n}')
                if ms >= 0: res[name].append(ms)
                else: print(f'{name}: no row within 10 s in {f.url}', file=sys.stderr)
        for n in range(repeats):
            d, s = page.evaluate(REFRESH, [ROUTE.format(n=f'{n}a'), ri, pi, False]); wait_idle(page)
            if d is not None: res['refresh fhnb'].append(d); res['refresh fhnb from start'].append(s)
            else: print('refresh fhnb: no reload within 30 s', file=sys.stderr)
            d, s = page.evaluate(REFRESH, [ROUTE.format(n=f'{n}b'), ri, hi, True]); wait_idle(page)
            if d is not None: res['refresh ref'].append(d)
            else: print('refresh ref: no page within 30 s', file=sys.stderr)
    print(f'\npreview benchmark: {repeats} repeats, ms (median [min–max]); shared 2-core machine, noisy\n')
    print('| measure | fhnb `preview` | fasthtml `HTMX()` | ratio | manual steps (fhnb / ref) |')
    print('|---|---|---|---|---|')
    for m, steps in (('visible', '0 / 0'), ('refresh', '0 / 1'), ('swap', '0 / 0')):
        a, b = stats(res[f'{m} fhnb']), stats(res[f'{m} ref'])
        print(f'| {m} | {a[0]:.0f} [{a[1]:.0f}–{a[2]:.0f}] | {b[0]:.0f} [{b[1]:.0f}–{b[2]:.0f}] | {a[0]/b[0]:.2f} | {steps} |')
    s = stats(res['refresh fhnb from start'])
    print(f'\nfhnb refresh from starting the route cell: {s[0]:.0f} ms median [{s[1]:.0f}–{s[2]:.0f}]')
    return res

def run_main(main, doc:str, repeats:int):
    "The command line of the JupyterLab benchmarks: `main(--repeats, [--lab-arg ...])`, described by `doc`'s first line."
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=repeats)
    ap.add_argument('--lab-arg', action='append', default=[], help='an argument for `jupyter lab` (repeatable)')
    a = ap.parse_args()
    main(a.repeats, a.lab_arg)

if __name__ == '__main__': run_main(main, __doc__, 7)
