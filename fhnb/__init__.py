"Build FastHTML apps in JupyterLab: a kernel server, live inline previews, nbdev export."
__version__ = "0.0.1"

from .settings import *
from .assets import *
from .server import *
from .tables import *
from .preview import *
from .export import *
from .testing import *
