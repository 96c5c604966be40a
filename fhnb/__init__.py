"Build FastHTML apps in JupyterLab: a kernel server, live inline previews, nbdev export."
__version__ = "0.0.1"

import importlib, sys

# The public API, by the module each name lives in. `import fhnb` stays cheap, so the CLI, `fhnb serve` and the
# exported apps under `fhnb.examples` load no Jupyter code: a name loads its module on first use. In an IPython
# shell `fhnb.kernel.enable()` puts the display hooks and the kernel-aware `serve` in place on import; the preview
# widget (anywidget, ~45 ms) still loads on the first preview, so `from fhnb import *` binds `preview` to a stub
# that loads it, and leaves `Preview` to `from fhnb import Preview`.
_public = dict(settings=['load_settings', 'Settings', 'SettingsError'],
               server=['NbServer', 'serve_nb', 'current_server'],
               kernel=['serve'],
               preview=['Preview', 'preview'],
               tables=['Rows'],
               testing=['HxClient'],
               assets=['HTML'])
_home = {name: mod for mod, names in _public.items() for name in names}
__all__ = [name for name in _home if name != 'Preview']

def _load(mod:str):
    "Import `fhnb.mod` and bind its public names here; a name wins over a submodule of the same name (`preview`)."
    m = importlib.import_module(f'fhnb.{mod}')
    globals().update({name: getattr(m, name) for name in _public[mod]})

def __getattr__(name):
    if name not in _home: raise AttributeError(f"module 'fhnb' has no attribute {name!r}")
    _load(_home[name])
    return globals()[name]

def preview(*args, **kwargs):
    "`fhnb.preview.preview` (a live inline preview), loading the widget's module on the first call."
    _load('preview')
    return globals()['preview'](*args, **kwargs)

def _in_ipython() -> bool:
    "`fhnb.kernel.ipy_shell() is not None`, without loading `fhnb.kernel` in a script (the CLI loads only what it uses)."
    ipy = sys.modules.get('IPython')
    return ipy is not None and ipy.get_ipython() is not None

if _in_ipython(): importlib.import_module('fhnb.kernel').enable()
