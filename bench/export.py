"""`fhnb export` against plain `nbdev-export` on the same new project: median of 5 runs each, interleaved, and the ratio.
Target: ratio <= 1.3. Both are whole commands as a user types them (process start included). Noisy on a shared machine."""
import statistics, subprocess, sys, tempfile, time
from pathlib import Path
from fhnb.export import new_project

BIN = Path(sys.executable).parent

def timed(cmd, cwd) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode: sys.exit(f'{cmd} failed:\n{r.stderr}')
    return time.perf_counter() - t

def main(n:int=5):
    with tempfile.TemporaryDirectory() as tmp:
        proj = new_project('bench_app', Path(tmp)/'bench_app')
        cmds = {'nbdev-export': [str(BIN/'nbdev-export')], 'fhnb export': [str(BIN/'fhnb'), 'export']}
        for c in cmds.values(): timed(c, proj)   # warm the file cache and write the package once
        times = {k: [] for k in cmds}
        for _ in range(n):
            for k, c in cmds.items(): times[k].append(timed(c, proj))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items(): print(f'{k:<13} median {med[k]:.3f}s  runs {" ".join(f"{t:.2f}" for t in v)}')
    ratio = med['fhnb export'] / med['nbdev-export']
    print(f'ratio fhnb export / nbdev-export: {ratio:.2f}x (target <= 1.3x)')
    # where the difference goes: importing the fhnb package (which the `fhnb` command loads first) on its own
    imp = statistics.median(timed([sys.executable, '-c', 'import fhnb'], '.') for _ in range(n))
    base = statistics.median(timed([sys.executable, '-c', 'pass'], '.') for _ in range(n))
    print(f'import fhnb alone: {imp - base:.3f}s over a bare interpreter ({base:.3f}s)')
    return ratio

if __name__ == '__main__': main()
