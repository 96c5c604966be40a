"""Where a preview's visible time goes: the events from running the preview cell to its page loaded, fhnb's `preview` next to
fasthtml's `HTMX()`, in a real JupyterLab driven by Chromium.

    .venv/bin/python bench/preview_timeline.py [--repeats 9] [--lab-arg=--ServerApp.jpserver_extensions=fhnb.extension=False]

Same notebook and app as `bench/preview.py`. Each event is ms after asking JupyterLab to run the cell (median [min–max]):
the kernel's messages as JupyterLab receives them (`recv`) and handles them (`handled`), the output in the cell, the iframe
in the output, the page's own navigation timing (request, response, parsed, `load`) and the next animation frame (what
`bench/preview.py` calls visible).
"""
import statistics, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview import SETUP, FHNB, REF, NEW_CELL, notebook_page, wait_idle, run_main

# Add a cell with `code`, let the page settle (`NEW_CELL`), run it; resolve with {event: ms} once its output's iframe has loaded, +1 animation frame.
EVENTS = '''async (code) => {
  NEW_CELL
  const kernel = app.shell.currentWidget.sessionContext.session.kernel;
  let t0 = 0;
  const ev = {}, mark = (k) => { if (!(k in ev)) ev[k] = performance.now() - t0; };
  const name = (m) => m.header.msg_type + (m.header.msg_type === 'status' ? ' ' + m.content.execution_state : '');
  const onAny = (_, a) => { if (a.direction === 'recv') mark('recv ' + name(a.msg)); };
  const onIopub = (_, m) => mark('handled ' + name(m));
  kernel.anyMessage.connect(onAny); kernel.iopubMessage.connect(onIopub);
  const loaded = new WeakSet();
  return await new Promise((resolve) => {
    const finish = () => requestAnimationFrame(() => {
      mark('next animation frame'); obs.disconnect(); kernel.anyMessage.disconnect(onAny); kernel.iopubMessage.disconnect(onIopub);
      document.removeEventListener('load', onLoad, true);
      resolve([ev, performance.timeOrigin + t0]); });
    const watch = () => {
      if (cell.node.querySelector('.jp-OutputArea-output')) mark('output in the cell');
      const f = cell.node.querySelector('.jp-OutputArea iframe');
      if (f && f.getAttribute('src')) mark('iframe in the output');
      if (f && loaded.has(f) && !f.__timed) { f.__timed = true; finish(); } };
    const onLoad = (e) => { if (e.target.tagName === 'IFRAME' && e.target.getAttribute('src')) { loaded.add(e.target); watch(); } };
    document.addEventListener('load', onLoad, true);
    const obs = new MutationObserver(watch);
    obs.observe(cell.node, { subtree: true, childList: true, attributes: true });
    t0 = performance.now();
    app.commands.execute('notebook:run-cell');
  }); }'''.replace('NEW_CELL', NEW_CELL)
NAVIGATION = ('requestStart', 'responseStart', 'responseEnd', 'domInteractive', 'loadEventStart')

def run_once(page, code:str) -> dict:
    "The events of one run of `code`, with the page's navigation timing on the same clock."
    ev, origin = page.evaluate(EVENTS, code)
    f = page.evaluate_handle("() => [...document.querySelectorAll('.jp-OutputArea iframe')].pop()").as_element().content_frame()
    nav = f.evaluate("() => [performance.timeOrigin, performance.getEntriesByType('navigation')[0].toJSON()]")
    for k in NAVIGATION: ev[f'page {k}'] = nav[0] + nav[1][k] - origin
    wait_idle(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    return ev

def main(repeats:int, lab_args:tuple=()):
    runs = {FHNB: [], REF: []}
    with notebook_page(SETUP, lab_args) as page:
        for code in (FHNB, REF): run_once(page, code)   # warm-up: connections; the kernel learns where the widget's code is
        for _ in range(repeats):
            for code in runs: runs[code].append(run_once(page, code))
    cell = lambda xs: f'{statistics.median(xs):.1f} [{min(xs):.0f}–{max(xs):.0f}]' if xs else '–'
    of = lambda code, k: [r[k] for r in runs[code] if k in r]
    events = sorted({k for rs in runs.values() for r in rs for k in r}, key=lambda k: statistics.median(of(FHNB, k) or of(REF, k)))
    print(f'\npreview timeline: {repeats} repeats, ms after running the cell (median [min–max]); shared 2-core machine, noisy\n')
    print('| event | fhnb `preview` | fasthtml `HTMX()` |\n|---|---|---|')
    for k in events: print(f'| {k} | {cell(of(FHNB, k))} | {cell(of(REF, k))} |')
    a, b = statistics.median(of(FHNB, 'next animation frame')), statistics.median(of(REF, 'next animation frame'))
    print(f'\nvisible: fhnb {a:.0f} ms, HTMX() {b:.0f} ms, ratio {a/b:.2f}')

if __name__ == '__main__': run_main(main, __doc__, 9)
