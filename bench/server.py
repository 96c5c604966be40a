"""Server benchmark: fhnb's kernel server against standalone uvicorn and fasthtml's `JupyUvi`, all on 127.0.0.1.

    .venv/bin/python bench/server.py [--repeats 3] [--requests 300]

One FastHTML app (a POST that returns an `Li` fragment, as `hx_post='/add'` does) served by
(a) a standalone uvicorn process, (b) fhnb's `serve_nb` in an idle real ipykernel, (c) `JupyUvi` in an
idle real ipykernel; then (b) and (c) while a CPU-bound cell runs in their kernel, and (b) once more with
GIL switch intervals of 5 ms (the interpreter's default) and 0.2 ms instead of fhnb's 1 ms. While the cell
runs, requests arrive one every `--pace` s (20 ms: a person typing). Latency: sequential POSTs on
one keep-alive connection (p50, p99); requests/s: 4 client threads. The CPU-bound cell is also timed with
and without requests arriving. Medians over repeats; ratios against (a) measured in the same run.
The client runs on the same machine; on a shared machine expect noise.
"""
import argparse, statistics, subprocess, sys, tempfile, threading, time
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
# A CPU-bound cell: pure Python, holds the GIL. `busy_s` is its own duration.
BUSY = 't0 = time.perf_counter()\nx = 0\nfor i in range({n}): x += i % 7\nbusy_s = time.perf_counter() - t0'

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

def busy_run(k, url, n_iter, with_requests, pace):
    "Run the CPU-bound cell; with requests: one POST every `pace` s until it ends. Returns (cell s, p50, p99, n)."
    done = threading.Event()
    def cell():
        try: k.ok(BUSY.format(n=n_iter), timeout=300)
        finally: done.set()
    t = threading.Thread(target=cell); t.start()
    lat = []
    if with_requests:
        time.sleep(0.2)   # let the cell start
        with httpx.Client(timeout=30) as c:
            end = time.monotonic() + 120
            while not done.is_set() and time.monotonic() < end:
                s = time.perf_counter(); c.post(url + '/add', data={'title': 'b'}); lat.append((time.perf_counter() - s) * 1000)
                done.wait(max(0, pace - (time.perf_counter() - s)))
    t.join()
    cell_s = float(k.ok('print(busy_s)').stdout)
    lat.sort()
    return cell_s, (lat[len(lat)//2] if lat else None), (lat[min(len(lat)-1, int(len(lat)*0.99))] if lat else None), len(lat)

def med(xs): return statistics.median([x for x in xs if x is not None])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--requests', type=int, default=300)
    ap.add_argument('--pace', type=float, default=0.02, help='seconds between requests while the cell runs (20 ms: typing speed)')
    ap.add_argument('--busy-iter', type=int, default=15_000_000, help='loop size of the CPU-bound cell (~2-4 s)')
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
        # busy kernels: the cell without, then with requests arriving, each configuration in turn, interleaved
        busy = {}
        configs = [('b', kf, fh, 0.001), ('b5', kf, fh, 0.005), ('b02', kf, fh, 0.0002), ('c', kj, ju, None)]
        for _ in range(a.repeats):
            for name, k, url, si in configs:
                if si: k.ok(f'import sys; sys.setswitchinterval({si})')
                busy.setdefault(name + ' quiet', []).append(busy_run(k, url, a.busy_iter, False, a.pace))
                busy.setdefault(name + ' busy', []).append(busy_run(k, url, a.busy_iter, True, a.pace))
    finally:
        for k in kernels: k.shutdown()
        p.terminate(); p.wait(10)

    base50, base99, base_rps = (med([r[i] for r in res['a']]) for i in range(3))
    print(f'\nserver benchmark: POST /add -> <li> fragment, {a.requests} requests x {a.repeats} repeats, medians (shared 2-core machine: noisy)\n')
    print(f'{"":44} {"p50 ms":>8} {"p99 ms":>8} {"req/s":>8} {"p50 x":>7} {"p99 x":>7} {"req/s x":>8}')
    for name, label in [('a', '(a) standalone uvicorn process'), ('b', '(b) fhnb serve_nb, idle kernel'), ('c', '(c) JupyUvi, idle kernel')]:
        l50, l99, r = (med([x[i] for x in res[name]]) for i in range(3))
        print(f'{label:44} {l50:8.2f} {l99:8.2f} {r:8.0f} {l50/base50:7.2f} {l99/base99:7.2f} {r/base_rps:8.2f}')
    print(f'\n{"while a CPU-bound cell runs":44} {"p50 ms":>8} {"p99 ms":>8} {"n req":>8} {"cell s":>7} {"quiet s":>7} {"cell x":>8}')
    for name, label in [('b', '(b) fhnb, switch interval 1 ms (its default)'), ('b5', '(b) fhnb, switch interval 5 ms'),
                        ('b02', '(b) fhnb, switch interval 0.2 ms'), ('c', '(c) JupyUvi, switch interval 5 ms')]:
        q, b = busy[name + ' quiet'], busy[name + ' busy']
        qs, bs = med([x[0] for x in q]), med([x[0] for x in b])
        print(f'{label:44} {med([x[1] for x in b]):8.2f} {med([x[2] for x in b]):8.2f} {med([x[3] for x in b]):8.0f} {bs:7.2f} {qs:7.2f} {bs/qs:8.3f}')
    print('\ntargets: idle p50 x <= 1.10 and req/s x >= 0.9 for (b); busy p99 <= 15 ms with cell x <= 1.05')

if __name__ == '__main__': main()
