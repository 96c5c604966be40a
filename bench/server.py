"""Server benchmark: fhnb's kernel server against standalone uvicorn and fasthtml's `JupyUvi`, all on 127.0.0.1.

    .venv/bin/python bench/server.py [--repeats 3] [--requests 300] [--paces 0.1,0.02] [--secs 30]

One FastHTML app (a POST that returns an `Li` fragment, as `hx_post='/add'` does) served by
(a) a standalone uvicorn process, (b) fhnb's `serve_nb` in an idle real ipykernel, (c) `JupyUvi` in an
idle real ipykernel. Idle latency: sequential POSTs on one keep-alive connection (p50, p99); requests/s:
4 client threads; medians over repeats, ratios against (a) measured in the same run.

Then a CPU-bound cell runs in (b)'s and (c)'s kernels for `--secs`, while requests arrive one every `--pace`
seconds in every other one-second window. The cell notes the time after each ~20 ms chunk of work; its
slowdown is the median, over adjacent pairs of windows, of its mean chunk time with requests over without.
Pairing neighbouring windows cancels the slow drift of a shared machine. (b) runs with its defaults (switch
interval 1 ms, 0.2 ms while answering) and with a fixed 1 ms; (c) with the interpreter's 5 ms.
The client runs on the same 2 cores; expect noise.
"""
import argparse, json, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path
import httpx
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tests'))
from harness import Kernel, free_port, wait_http

APP = '''
from fasthtml.common import *
app, rt = fast_app()
items = []
@rt('/')
def get(): return Titled('Items', Ul(id='list'))
@rt('/add')
def post(title:str):
    items.append(title)
    return Li(title)
'''
# A CPU-bound cell: pure Python, holds the GIL. It runs for `secs`, noting the time after each chunk of work (~20 ms).
CELL = '''
import time
marks, _end = [], time.time() + {secs}
while time.time() < _end:
    x = 0
    for i in range({chunk}): x += i % 7
    marks.append(time.time())
'''

def latency(url, n):
    "p50, p99 in ms of `n` sequential POSTs."
    lat = []
    with httpx.Client(timeout=30) as c:
        for i in range(n):
            t = time.perf_counter()
            r = c.post(url + '/add', data={'title': f't{i}'})
            lat.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.status_code
    lat.sort()
    return lat[len(lat)//2], lat[min(len(lat)-1, int(len(lat)*0.99))]

def rps(url, n, threads=4):
    "Requests per second with `threads` clients sending `n` POSTs in all."
    def client():
        with httpx.Client(timeout=30) as c:
            for i in range(n // threads): c.post(url + '/add', data={'title': 'x'})
    ts = [threading.Thread(target=client) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    return n / (time.perf_counter() - t0)

def busy_run(k, url, secs, window, pace, chunk):
    """Run the CPU-bound cell for `secs` while requests arrive every `pace` s in every other `window`-s window (off, on, off, ...).
    Returns the cell's slowdown (median over adjacent off/on window pairs of its mean chunk time), the pairs, the latencies (ms)."""
    cell = threading.Thread(target=k.ok, args=(CELL.format(secs=secs, chunk=chunk),), kwargs=dict(timeout=secs + 60))
    t0 = time.time() + 0.3   # windows count from here; the cell starts at once
    cell.start()
    lat = []
    with httpx.Client(timeout=30) as c:
        while (now := time.time()) < t0 + secs - window:
            w = int((now - t0) // window) if now >= t0 else -1
            if w % 2 == 0 or w < 0: time.sleep(t0 + (w + 1) * window - now); continue   # an off window: no requests
            s = time.perf_counter(); c.post(url + '/add', data={'title': 'b'}); lat.append((time.perf_counter() - s) * 1000)
            time.sleep(max(0, pace - (time.perf_counter() - s)))
    cell.join()
    marks = json.loads(k.ok('import json; print(json.dumps(marks))').stdout)
    per_window = {}
    for a, b in zip(marks, marks[1:]):   # a chunk counts for the window it lies wholly in
        wa, wb = int((a - t0) // window), int((b - t0) // window)
        if a >= t0 and wa == wb: per_window.setdefault(wa, []).append(b - a)
    mean = {w: statistics.mean(d) for w, d in per_window.items()}
    ratios = [mean[w + 1] / mean[w] for w in mean if w % 2 == 0 and w + 1 in mean]
    return statistics.median(ratios), len(ratios), sorted(lat)

def med(xs): return statistics.median([x for x in xs if x is not None])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--requests', type=int, default=300)
    ap.add_argument('--paces', default='0.1,0.02', help='seconds between requests while the cell runs: 0.1 is a person clicking and typing fast, 0.02 a flood')
    ap.add_argument('--secs', type=float, default=30, help='how long the CPU-bound cell runs, for each configuration and pace')
    ap.add_argument('--chunk', type=int, default=300_000, help='loop iterations between the cell\'s time marks (~20 ms)')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    (tmp/'benchapp.py').write_text(APP)
    res = {}

    # (a) standalone uvicorn
    port = free_port()
    p = subprocess.Popen([sys.executable, '-m', 'uvicorn', 'benchapp:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'],
                         cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kernels = []
    try:
        wait_http(f'http://127.0.0.1:{port}/', proc=p)
        sa = f'http://127.0.0.1:{port}'
        # (b) fhnb and (c) JupyUvi, each in its own real kernel
        kf, kj = Kernel(cwd=tmp), Kernel(cwd=tmp)
        kernels += [kf, kj]
        kf.ok('import time\n' + APP + '\nfrom fhnb import *\nsrv = serve_nb(app)')
        fh = kf.ok('print(srv.url)').stdout.strip()
        jport = free_port()
        kj.ok('import time\n' + APP + f'\nfrom fasthtml.jupyter import JupyUvi\nsrv = JupyUvi(app, host="127.0.0.1", port={jport})')
        ju = f'http://127.0.0.1:{jport}'
        for u in (sa, fh, ju): latency(u, 50)   # warm up
        for name, url in [('a', sa), ('b', fh), ('c', ju)] * a.repeats:   # interleaved
            l50, l99 = latency(url, a.requests)
            res.setdefault(name, []).append((l50, l99, rps(url, a.requests)))
        # busy kernels: each configuration and pace in turn
        busy = {}
        configs = [('b', kf, fh, 'srv.request_switch_interval = NbServer.request_switch_interval'),
                   ('b1', kf, fh, 'srv.request_switch_interval = None'), ('c', kj, ju, '')]
        for pace in [float(p) for p in a.paces.split(',')]:
            for name, k, url, setup in configs:
                if setup: k.ok(setup)
                busy[name, pace] = busy_run(k, url, a.secs, 1.0, pace, a.chunk)
        kf.ok('srv.request_switch_interval = NbServer.request_switch_interval')
    finally:
        for k in kernels: k.shutdown()
        p.terminate(); p.wait(10)

    base50, base99, base_rps = (med([r[i] for r in res['a']]) for i in range(3))
    print(f'\nserver benchmark: POST /add -> <li> fragment, {a.requests} requests x {a.repeats} repeats, medians (shared 2-core machine: noisy)\n')
    print(f'{"":44} {"p50 ms":>8} {"p99 ms":>8} {"req/s":>8} {"p50 x":>7} {"p99 x":>7} {"req/s x":>8}')
    for name, label in [('a', '(a) standalone uvicorn process'), ('b', '(b) fhnb serve_nb, idle kernel'), ('c', '(c) JupyUvi, idle kernel')]:
        l50, l99, r = (med([x[i] for x in res[name]]) for i in range(3))
        print(f'{label:44} {l50:8.2f} {l99:8.2f} {r:8.0f} {l50/base50:7.2f} {l99/base99:7.2f} {r/base_rps:8.2f}')
    labels = {'b': '(b) fhnb, defaults (1 ms; 0.2 ms answering)', 'b1': '(b) fhnb, fixed switch interval 1 ms', 'c': '(c) JupyUvi, switch interval 5 ms'}
    for pace in sorted({p for _, p in busy}, reverse=True):
        print(f'\n{f"CPU-bound cell, a request every {pace*1000:g} ms":44} {"p50 ms":>8} {"p99 ms":>8} {"n req":>8} {"cell x":>8} {"pairs":>6}')
        for name in labels:
            x, pairs, lat = busy[name, pace]
            print(f'{labels[name]:44} {lat[len(lat)//2]:8.2f} {lat[min(len(lat)-1, int(len(lat)*0.99))]:8.2f} {len(lat):8d} {x:8.3f} {pairs:6d}')
    print('\ntargets: idle p50 x <= 1.10 and req/s x >= 0.9 for (b); busy p99 <= 15 ms with cell x <= 1.05')

if __name__ == '__main__': main()
