"""Run every benchmark in bench/ once with small settings (`make bench`): to keep them running, not to measure.

    .venv/bin/python bench/run.py [NAME ...]

Each script runs in turn with the settings below; its output is shown, and a line says how long it took. The exit
status is 1 when a script failed (an error, not a slow figure) or when a script in bench/ has no settings here (a new
benchmark is added to SMALL, so that it keeps running too).
"""
import subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script: its command-line options for one quick run (a few seconds to a minute on a loaded 2-core machine)
SMALL = {
    'kernel.py': ['--kernels', '2', '--runs', '10'],
    'server.py': ['--repeats', '1', '--requests', '30', '--paces', '0.1', '--secs', '4'],
    'export.py': ['--repeats', '1'],
    'preview.py': ['--repeats', '1'],
    'preview_timeline.py': ['--repeats', '1'],
    'kernel_route.py': ['--repeats', '1'],
    'plugin.py': ['--repeats', '1'],
    'scale.py': ['--secs', '2', '--clients', '2', '--repeats', '1', '--workers', '1,2'],
}

def main(names:list[str]):
    scripts = sorted(p.name for p in HERE.glob('*.py') if p.name != Path(__file__).name)
    missing = [s for s in scripts if s not in SMALL]
    if missing: sys.exit(f'bench/run.py: no small settings for {", ".join(missing)}: add them to SMALL in bench/run.py')
    unknown = [n for n in names if n not in SMALL]
    if unknown: sys.exit(f'bench/run.py: no benchmark {", ".join(unknown)}; the benchmarks are {", ".join(scripts)}')
    failed, t00 = [], time.monotonic()
    for name in names or scripts:
        cmd = [sys.executable, str(HERE/name), *SMALL[name]]
        print(f'\n=== bench/{name} {" ".join(SMALL[name])}', flush=True)
        t0 = time.monotonic()
        r = subprocess.run(cmd, cwd=HERE.parent)
        took = time.monotonic() - t0
        print(f'=== bench/{name}: {"ok" if r.returncode == 0 else f"FAILED (exit {r.returncode})"} in {took:.0f} s', flush=True)
        if r.returncode: failed.append(name)
    print(f'\nbenchmarks: {len(names or scripts) - len(failed)} ran, {len(failed)} failed{": " + ", ".join(failed) if failed else ""} '
          f'({time.monotonic() - t00:.0f} s)')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main(sys.argv[1:])
