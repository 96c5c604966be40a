"""Executed notebooks: the committed outputs are the documentation, so they must be what a run gives, every run.

    python scripts/outputs.py save [NOTEBOOK ...]   # run notebooks (default: all) and keep their outputs, masked
    python scripts/outputs.py check [NOTEBOOK ...]  # run them on a scratch copy; fail where an output drifted

Both run `nbdev-test --save` (a process per notebook), keep each preview as its static snapshot (its live widget needs
the kernel), and mask what differs by nature from run to run and machine to machine: loopback ports, temporary folders,
component keys and the project's own path.
Everything else must come out the same: a lesson that prints a time or a random value is a lesson to fix, not to mask.
`check` never touches the work tree; it is `make test`'s notebook run."""
import difflib, json, re, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from nbdev.clean import clean_nb

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
IGNORE = shutil.ignore_patterns('.venv', '.git', 'node_modules', '__pycache__', '_docs', '_proc', '*.egg-info', 'test-artifacts')

def _stable(outputs:list, root:Path) -> list:
    "`outputs` with loopback ports, temporary folders, component keys and the project's path masked."
    text = json.dumps(outputs, ensure_ascii=False).replace(str(root), '/path/to/fhnb')
    text = re.sub(r'\b(127\.0\.0\.1|localhost):\d{2,5}\b', r'\1:PORT', text)
    text = re.sub(r'/tmp/tmp\w+', '/tmp/tmpDIR', text)
    return json.loads(re.sub(r'/_fhnb/c/[0-9a-f]{12}\b', '/_fhnb/c/ID', text))   # a component preview's unguessable route

def masked(nb:dict, root:Path) -> dict:
    "`nb` cleaned as nbdev-clean does, previews kept as their static snapshots, outputs made stable."
    clean_nb(nb)
    nb.get('metadata', {}).pop('widgets', None)
    for c in nb['cells']:
        for o in c.get('outputs', []): o.get('data', {}).pop(WIDGET_VIEW, None)   # a live widget has no life without its kernel
        if c.get('outputs'): c['outputs'] = _stable(c['outputs'], root)
    return nb

def _write(nb:dict, path:Path):
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def _run(root:Path, *paths:Path):
    "`nbdev-test --save` in `root`, two at a time, each in its own process: on success each notebook holds this run's outputs."
    # one process each: fhnb installs its display hooks in the first shell of a process, and nbdev-test reuses processes
    exe = Path(sys.executable).parent/'nbdev-test'
    def one(p:Path): return p, subprocess.run([str(exe), '--n-workers', '0', '--save', str(p)], cwd=root, capture_output=True, text=True)
    failed = [(p, r) for p, r in ThreadPoolExecutor(2).map(one, paths or _notebooks(root)) if r.returncode]
    for p, r in failed: print(f'{p.relative_to(root)} failed:\n{r.stdout[-4000:]}{r.stderr[-4000:]}', file=sys.stderr)
    if failed: sys.exit(f'{len(failed)} notebook(s) failed: ' + ', '.join(str(p.relative_to(root)) for p, _ in failed))

def _notebooks(root:Path) -> list[Path]: return sorted(p for p in (root/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)

def _outputs(nb:dict) -> list:
    return [c.get('outputs', []) for c in nb['cells']]

def _drift(rel:str, old:dict, new:dict) -> list[str]:
    "One line per cell of `rel` whose outputs differ, showing the first changed line."
    if len(old['cells']) != len(new['cells']): return [f'{rel}: the run changed the number of cells']
    bad = []
    for i, (a, b) in enumerate(zip(_outputs(old), _outputs(new))):
        if a == b: continue
        diff = [l for l in difflib.unified_diff(json.dumps(a, indent=1).splitlines(), json.dumps(b, indent=1).splitlines(), lineterm='', n=0)
                if l[:1] in '+-' and l[:3] not in ('+++', '---')]
        bad.append(f'{rel} cell {i}: output differs from the committed one ({" | ".join(diff[:2])[:300]}); '
                   f'make it stable, then `python scripts/outputs.py save {rel}`')
    return bad

def save(*names:str):
    paths = [Path(n).resolve() for n in names] or _notebooks(ROOT)
    _run(ROOT, *paths)
    for p in paths: _write(masked(json.loads(p.read_text()), ROOT), p)
    print(f'ran {len(paths)} notebook(s) and saved their outputs')

def check(*names:str):
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)/ROOT.name   # a lesson may show the project's folder name
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        paths = [copy/Path(n).resolve().relative_to(ROOT) for n in names] or _notebooks(copy)
        _run(copy, *paths)
        bad = []
        for p in paths:
            rel = str(p.relative_to(copy))
            old = masked(json.loads((ROOT/rel).read_text()), ROOT)
            bad += _drift(rel, old, masked(json.loads(p.read_text()), copy))
    if bad: sys.exit('\n'.join(bad))
    print('notebooks ran, and their outputs match the committed ones')

if __name__ == '__main__':
    cmd, *rest = sys.argv[1:] or ['']
    if cmd == 'save': save(*rest)
    elif cmd == 'check': check(*rest)
    else: sys.exit('usage: outputs.py save [NOTEBOOK ...] | outputs.py check [NOTEBOOK ...]')
