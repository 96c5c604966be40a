"""The harness itself: a real kernel, the export check, settings errors, JupyterLab in Chromium."""
import subprocess, sys
from pathlib import Path
import pytest
from harness import write_notebook, open_notebook, run_all_cells, screenshot

ROOT = Path(__file__).resolve().parent.parent

def test_kernel_runs_a_cell(kernel):
    r = kernel.ok('import fhnb, sys\nprint(fhnb.__version__)\n6*7')
    assert r.stdout.strip() == fhnb_version()
    assert r.outputs[-1]['text/plain'] == '42'

def test_kernel_reports_errors(kernel):
    r = kernel.run('1/0')
    assert r.error == 'ZeroDivisionError: division by zero'

def fhnb_version():
    import fhnb
    return fhnb.__version__

def test_bad_setting_is_one_line(tmp_path):
    (tmp_path/'settings.ini').write_text('[fhnb]\nproxy = sometimes\n')
    r = subprocess.run([sys.executable, '-m', 'fhnb', 'settings'], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == f"fhnb settings: {tmp_path/'settings.ini'} [fhnb] proxy = 'sometimes': expected auto | direct | jupyter-server-proxy | kernel\n"

def test_hand_edit_of_generated_module_fails_export_check(tmp_path):
    import shutil
    copy = tmp_path/'p'
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns('.venv', '.git', '__pycache__', 'test-artifacts', '*.egg-info'))
    mod = copy/'fhnb'/'settings.py'
    mod.write_text(mod.read_text() + '\nHAND_EDIT = 1\n')
    r = subprocess.run([sys.executable, '.ci/check_export.py'], cwd=copy, capture_output=True, text=True)
    assert r.returncode == 1
    assert 'fhnb/settings.py does not match nbs/00_settings.ipynb: edit the notebook nbs/00_settings.ipynb' in r.stderr

@pytest.mark.browser
def test_jupyterlab_runs_a_notebook(lab, page):
    write_notebook(lab.root/'hello.ipynb', 'import fhnb\nprint("fhnb", fhnb.__version__)', 'from IPython.display import HTML\nHTML("<b id=answer>forty-two</b>")')
    open_notebook(page, lab, 'hello.ipynb')
    run_all_cells(page)
    page.wait_for_selector('#answer', timeout=30_000)
    assert page.inner_text('#answer') == 'forty-two'
    assert f'fhnb {fhnb_version()}' in page.inner_text('.jp-OutputArea-output >> nth=0')
    assert screenshot(page, 'foundation-jupyterlab').stat().st_size > 0
