"""fhnb.kernel: importing fhnb's modules outside a kernel patches nothing; `fhnb serve` keeps FastHTML's own route
handling; in a kernel `from fhnb import *` is light (it loads neither the preview nor the widget: how long it takes is
`bench/kernel.py`'s) and the preview widget loads on first use."""
import subprocess, textwrap
import httpx
from harness import run_py, serving

# FastHTML's and fastlite's functions fhnb replaces in a notebook, by where they are bound
WATCHED = '''
import fasthtml.core, fasthtml.fastapp, fasthtml.common, fastlite, fastlite.kw
from fastlite import Database
watched = dict(add_route=(fasthtml.core.FastHTML, 'add_route'), core_serve=(fasthtml.core, 'serve'), common_serve=(fasthtml.common, 'serve'),
               fast_app=(fasthtml.fastapp, 'fast_app'), common_fast_app=(fasthtml.common, 'fast_app'), get=(fastlite.Table, 'get'),
               create=(fastlite.Table, 'create'), get_last=(fastlite.Table, 'get_last'), db_create=(Database, 'create'),
               db_init=(Database, '__init__'), database=(fastlite, 'database'), kw_database=(fastlite.kw, 'database'))
def now(): return {k: vars(o).get(n) for k, (o, n) in watched.items()}
before = now()
'''

def changed_after(code:str) -> subprocess.CompletedProcess:
    "Run `code` in a fresh interpreter; it prints which of `WATCHED` it replaced."
    return run_py(WATCHED + textwrap.dedent(code))

def test_importing_fhnb_modules_outside_a_kernel_patches_nothing():
    r = changed_after('''
        import sys, fhnb, fhnb.server, fhnb.tables, fhnb.cli, fhnb.kernel, fhnb.assets, fhnb.guard, fhnb.testing
        print(sorted(k for k, v in now().items() if v is not before[k]), 'IPython' in sys.modules)''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['[]', 'False'], r.stdout

def test_fix_tables_is_explicit():
    "The fixes are one call away, and doing it twice wraps fastlite's own functions once."
    r = changed_after('''
        from fhnb.tables import fix_tables
        fix_tables(); fix_tables()
        print(sorted(k for k, v in now().items() if v is not before[k]), fastlite.Table.get._fhnb_orig is before['get'])''')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split('] ')[1].strip() == 'True', r.stdout
    assert "'add_route'" not in r.stdout and "'fast_app'" in r.stdout and "'get'" in r.stdout, r.stdout

TWO_ROUTES = '''
from fasthtml.common import *
app, rt = fast_app()
@rt('/x')
def get(): return P('first')
@rt('/x')
def index(): return P('second')
@rt('/')
def home(): return P('home')
'''

def test_fhnb_serve_keeps_fasthtmls_route_handling(tmp_path):
    "Two handlers of one path with different names: FastHTML's own `add_route` keeps both and the first answers; fhnb's (a notebook's) would answer the second."
    (tmp_path/'two.py').write_text(TWO_ROUTES)
    with serving('two:app', '--port', 0, cwd=tmp_path) as (url, _):
        assert '<p>first</p>' in httpx.get(url + '/x').text

def test_kernel_import_is_light_and_previews_load_on_use(kernel):
    kernel.ok('import sys\nfrom fasthtml.common import *\nfrom fhnb import *')
    assert kernel.ok("print('fhnb.preview' in sys.modules, 'anywidget' in sys.modules)").stdout.split() == ['False', 'False']
    assert 'application/vnd.jupyter.widget-view+json' not in kernel.ok("Div(P('no app yet'))").outputs[-1]   # fasthtml's own display
    assert kernel.ok("print('anywidget' in sys.modules)").stdout.strip() == 'False'
    kernel.ok("app, rt = fast_app()\n@rt('/')\ndef get(): return P('hi')")
    r = kernel.ok("Div(P('a card'))")
    assert 'application/vnd.jupyter.widget-view+json' in r.outputs[-1], r.outputs
    assert kernel.ok("import fhnb\nprint(callable(fhnb.preview), fhnb.preview is fhnb.preview.__globals__['preview'])").stdout.split() == ['True', 'True']
    assert kernel.ok("print(type(preview('/')).__name__)").stdout.strip() == 'Preview'

def test_a_served_app_loads_the_preview_module_ahead(kernel):
    "Once a cell has served an app, the widget's module loads on a thread: the first preview does not wait for it."
    kernel.ok("import sys, time\nfrom fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n@rt('/')\ndef get(): return P('hi')")
    assert kernel.ok("print('fhnb.preview' in sys.modules)").stdout.strip() == 'False'   # an app alone loads nothing
    kernel.ok('srv = serve_nb(app)')
    loaded = "'Preview' in vars(sys.modules['fhnb'])"   # bound once the module has loaded whole
    assert kernel.ok(f"end = time.monotonic() + 60\nwhile not ({loaded}) and time.monotonic() < end: time.sleep(0.02)\nprint({loaded})").stdout.strip() == 'True'
    assert kernel.ok("p = preview('/'); print(type(p).__name__)").stdout.strip() == 'Preview'
