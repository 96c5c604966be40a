"""`fhnb export` against plain `nbdev-export` on the same new project: median of 5 runs each, interleaved, and the ratio.

    .venv/bin/python bench/export.py [--repeats 5]

Target: ratio <= 1.3. Both are whole commands as a user types them (process start included). Noisy on a shared machine."""
import argparse, statistics, subprocess, sys, tempfile, time
from pathlib import Path
from fhnb.export import new_project

BIN = Path(sys.executable).parent

def timed(cmd, cwd) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode: sys.exit(f'{cmd} failed:\n{r.stderr}')
    return time.perf_counter() - t

def median_of(n, cmd, cwd) -> float: return statistics.median(timed(cmd, cwd) for _ in range(n))

def main(n:int=5):
    with tempfile.TemporaryDirectory() as tmp:
        proj = new_project('bench_app', Path(tmp)/'bench_app')
        cmds = {'nbdev-export': [str(BIN/'nbdev-export')], 'fhnb export': [str(BIN/'fhnb'), 'export']}
        for c in cmds.values(): timed(c, proj)   # warm the file cache and write the package once
        times = {k: [] for k in cmds}
        for _ in range(n):
            for k, c in cmds.items(): times[k].append(timed(c, proj))
        # where the time goes: the `fhnb` command imports its CLI, then starts check (2), a fresh interpreter importing
        # the app, which overlaps nbdev's import and export; each on its own, over a bare interpreter
        py = [sys.executable, '-c']
        base, imp, app = median_of(n, py + ['pass'], proj), median_of(n, py + ['import fhnb.cli'], proj), median_of(n, py + ['import bench_app.app'], proj)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items(): print(f'{k:<13} median {med[k]:.3f}s  runs {" ".join(f"{t:.2f}" for t in v)}')
    ratio = med['fhnb export'] / med['nbdev-export']
    print(f'ratio fhnb export / nbdev-export: {ratio:.2f}x (target <= 1.3x)')
    print(f'bare interpreter {base:.3f}s; import fhnb.cli +{imp - base:.3f}s; import the exported app (the fresh-interpreter check) +{app - base:.3f}s')
    return ratio

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5, help='runs of each command (interleaved)')
    main(ap.parse_args().repeats)
