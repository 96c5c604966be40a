"""Kernel benchmark: what a notebook's first cells cost, and how soon a kernel's server lets its port go, in real ipykernels.

    .venv/bin/python bench/kernel.py [--kernels 7] [--runs 50]

- first cell: ms `from fasthtml.common import *`, then `from fhnb import *`, take in a fresh kernel; medians over
  `--kernels` kernels. Target: fhnb under 150 ms, or under fasthtml.common's own import on a loaded machine (it loads
  neither the preview nor the widget; tests/test_kernel.py checks that).
- serve again: ms one `serve_nb(app)` takes when the app is already served (a re-run cell): median and max over `--runs`.
  Target: median under 2 ms, at most one run over 10 ms (a scheduling hiccup on a shared 2-core machine).
- port free: seconds from `restart_kernel()` and from `shutdown_kernel()` (both graceful) until nothing listens on the
  kernel server's port. Target: under 1 s each (jupyter_client kills a kernel that has not gone after 5 s).

The tests check the behaviour (same server, port freed); this script measures the times. Noisy on a shared machine.
"""
import argparse, json, socket, statistics, sys, tempfile, threading, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tests'))
from harness import Kernel

APP = "from fasthtml.common import *\nfrom fhnb import *\nimport json\napp, rt = fast_app()\n@rt('/')\ndef get(): return P('home')"
TIMED = 't = time.perf_counter()\n{}\nprint((time.perf_counter() - t) * 1000)'

def import_ms(cwd) -> tuple[float, float]:
    "Milliseconds `from fasthtml.common import *`, then `from fhnb import *`, take in a fresh kernel."
    with Kernel(cwd=cwd) as k:
        k.ok('import time')
        return tuple(float(k.ok(TIMED.format(f'from {m} import *')).stdout.split()[-1]) for m in ('fasthtml.common', 'fhnb'))

def serve_again_ms(cwd, runs:int) -> list[float]:
    "Milliseconds each of `runs` calls of `serve_nb(app)` takes once the app is served."
    with Kernel(cwd=cwd) as k:
        k.ok(APP + '\nimport time\nserve_nb(app)')
        return json.loads(k.ok(f'ms = []\nfor _ in range({runs}):\n    t = time.perf_counter(); serve_nb(app)\n'
                               '    ms.append((time.perf_counter() - t) * 1000)\nprint(json.dumps(ms))').stdout)

def port_free(port:int) -> bool:
    with socket.socket() as s: return s.connect_ex(('127.0.0.1', port)) != 0

def seconds_until_free(port:int, f) -> float:
    "Seconds from calling `f` until nothing listens on `port` (watched while `f` runs, 20 s at most)."
    t0, freed = time.monotonic(), []
    def watch():
        while not port_free(port) and time.monotonic() - t0 < 20: time.sleep(0.005)
        freed.append(time.monotonic() - t0)
    w = threading.Thread(target=watch); w.start()
    f(); w.join()
    return freed[0]

def port_free_s(cwd) -> tuple[float, float]:
    "Seconds until the server's port is free after a graceful restart, then after a graceful shutdown."
    k = Kernel(cwd=cwd)
    try:
        serve = lambda: int(k.ok(APP + '\nprint(serve_nb(app).port)').stdout.split()[-1])
        restart = seconds_until_free(serve(), lambda: k.km.restart_kernel(now=False))
        k.kc.wait_for_ready(timeout=60)
        port = serve()
        k.kc.stop_channels()
        return restart, seconds_until_free(port, lambda: k.km.shutdown_kernel(now=False))
    finally:
        if k.km.is_alive(): k.km.shutdown_kernel(now=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--kernels', type=int, default=7, help='fresh kernels for the first cell')
    ap.add_argument('--runs', type=int, default=50, help='re-runs of serve_nb(app)')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        runs = [import_ms(cwd) for _ in range(args.kernels)]
        fh, ms = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f'first cell (median of {args.kernels} kernels): from fasthtml.common import * {fh:.0f} ms, from fhnb import * {ms:.0f} ms')
        again = serve_again_ms(cwd, args.runs)
        print(f'serve again ({args.runs} runs): median {statistics.median(again):.2f} ms, max {max(again):.1f} ms, '
              f'{sum(t >= 10 for t in again)} over 10 ms')
        restart, shutdown = port_free_s(cwd)
        print(f'port free: {restart:.2f} s after restart_kernel, {shutdown:.2f} s after shutdown_kernel')

if __name__ == '__main__': main()
