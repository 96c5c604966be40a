"""fhnb.nodelay in a real JupyterLab: the server loads the extension and a notebook's previews work through its websockets."""
from pathlib import Path
import pytest
from harness import JupyterLab, open_notebook, run_all_cells, write_notebook

@pytest.mark.browser
def test_jupyterlab_loads_nodelay_and_previews_work(tmp_path, page):
    lab = JupyterLab(tmp_path, extra_args=('--ServerApp.jpserver_extensions=fhnb.nodelay=True',))   # what the installed config enables
    try:
        write_notebook(tmp_path/'nb.ipynb', "from fasthtml.common import *\nfrom fhnb import *\napp, rt = fast_app()\n"
                       "@rt('/')\ndef get(): return P('over a nodelay socket', id='hi')\npreview('/')")
        open_notebook(page, lab, 'nb.ipynb')
        run_all_cells(page)
        page.wait_for_selector('.fhnb-preview iframe', timeout=30_000)
        page.locator('.fhnb-preview iframe').element_handle().content_frame().wait_for_selector('#hi')
        assert 'fhnb: kernel websockets send each message at once (TCP_NODELAY)' in Path(lab.log.name).read_text()
    finally: lab.stop()
