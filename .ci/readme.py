"""Write README.md from nbs/index.ipynb, as `nbdev-readme` would without Quarto (it is not installable offline).
Markdown cells as they are, code cells as python blocks with their saved text outputs, `#| hide` cells left out,
relative image links pointed into nbs/. `--check` fails instead of writing when README.md is stale."""
import re, sys
from pathlib import Path
from fastcore.nbio import read_nb

root = Path(__file__).resolve().parent.parent
def _code(c):
    src = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
    outs = [o.get('text') or o.get('data', {}).get('text/markdown') or o.get('data', {}).get('text/plain') for o in c.get('outputs', [])]
    outs = [''.join(o) if isinstance(o, list) else o for o in outs if o]
    return f'```python\n{src}\n```' + ''.join(f'\n\n    ' + o.strip().replace('\n', '\n    ') for o in outs)

def readme() -> str:
    parts = []
    for c in read_nb(root/'nbs'/'index.ipynb').cells:
        if 'hide' in c.directives: continue
        if c.cell_type == 'markdown': parts.append(re.sub(r'\]\((?!https?:|#|/)([^)]+)\)', r'](nbs/\1)', c.source.strip()))
        elif c.cell_type == 'code' and c.source.strip(): parts.append(_code(c))
    return '<!-- generated from nbs/index.ipynb by .ci/readme.py: edit the notebook -->\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    new, dest = readme(), root/'README.md'
    if '--check' in sys.argv:
        if not dest.exists() or dest.read_text() != new: sys.exit('README.md does not match nbs/index.ipynb: edit the notebook, then run `make readme`')
    else: dest.write_text(new)
