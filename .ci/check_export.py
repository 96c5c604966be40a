"""Fail when `nbdev-export` would change a generated module: someone edited `fhnb/*.py` instead of its notebook.
Exports a scratch copy of the project and compares, so the work tree is never touched."""
import filecmp, re, shutil, subprocess, sys, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
with tempfile.TemporaryDirectory() as tmp:
    copy = Path(tmp)/'p'
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns('.venv', '.git', 'node_modules', '__pycache__', '_docs', '_proc', '*.egg-info'))
    exe = Path(sys.executable).parent/'nbdev-export'
    r = subprocess.run([str(exe)], cwd=copy, capture_output=True, text=True)
    if r.returncode: sys.exit(f'nbdev-export failed:\n{r.stderr}')
    bad = []
    for new in sorted((copy/'fhnb').rglob('*.py')):
        rel = new.relative_to(copy)
        old = root/rel
        if old.exists() and filecmp.cmp(old, new, shallow=False): continue
        m = re.search(r'File to edit: \.\./(\S+?)\.?$', new.read_text(), re.M)   # after the module's docstring, if it has one
        src = m.group(1) if m else 'its notebook'
        bad.append(f'{rel} does not match {src}: edit the notebook {src}, not the generated module, then run nbdev-export')
    for old in sorted((root/'fhnb').rglob('*.py')):
        rel = old.relative_to(root)
        if '__pycache__' not in rel.parts and not (copy/rel).exists(): bad.append(f'{rel} is not made by any notebook: delete it or add its notebook')
    if bad: sys.exit('\n'.join(bad))
print('generated modules match the notebooks')
