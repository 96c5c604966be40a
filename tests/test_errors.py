"""A failure names the notebook's cell (issue 27): the 500 page, the server's log and websocket handlers, in a real kernel."""
import json, re
import httpx, pytest

APP = '''
from fasthtml.common import *
from fhnb import *
app, rt = fast_app()
'''

def serve(k) -> str:
    "Serve the kernel's `app`; its URL."
    return k.ok('import json; print(json.dumps(serve_nb(app).url))').stdout.strip().strip('"')

def last_entry(k) -> dict:
    "The newest entry of the kernel server's log, as JSON."
    return json.loads(k.ok('print(json.dumps({k: v for k, v in current_server().log[-1].items() if k != "hx"}))').stdout)

def test_a_handler_in_a_cell_is_named_as_ipython_names_it(kernel):
    kernel.ok(APP)
    kernel.ok("@rt('/put')\ndef get():\n    x = 1\n    return x / 0")
    url = serve(kernel)
    r = httpx.get(url + '/put')
    assert r.status_code == 500
    where = re.search(r'<code id="fhnb-where">(.*?)</code>', r.text)[1]
    assert re.fullmatch(r'Cell In\[\d+\], line 4, in get: return x / 0', where), where
    folded = re.search(r'<pre id="fhnb-traceback"[^>]*>(.*?)</pre>', r.text, re.S)[1]
    assert re.search(r'Cell In\[\d+\], line 4, in get\n    return x / 0', folded) and 'ipykernel_' not in folded, folded
    assert 'ipykernel_' not in r.text.split('<details>')[1]   # the full traceback names the cell too
    e = last_entry(kernel)
    assert e['error'] == 'ZeroDivisionError: division by zero' and e['where'] == where
    assert 'Cell In[' in e['traceback'] and 'ipykernel_' not in e['traceback']

def test_a_handler_in_a_file_keeps_its_file_and_line(kernel, tmp_path):
    (tmp_path/'shop.py').write_text('def boom():\n    raise ValueError("from a file")\n')
    kernel.ok(APP + "import shop\n@rt('/f')\ndef get(): return shop.boom()")
    r = httpx.get(serve(kernel) + '/f')
    assert f'{tmp_path}/shop.py:2, in boom: raise ValueError(&quot;from a file&quot;)' in r.text, r.text[:800]

def test_a_websocket_handler_that_raises_is_logged_and_closed(kernel):
    from websockets.sync.client import connect
    from websockets.exceptions import ConnectionClosed
    kernel.ok(APP)
    kernel.ok("@app.ws('/chat')\nasync def ws(msg:str, send):\n    raise RuntimeError(f'socket boom {msg}')")
    url = serve(kernel)
    with connect(url.replace('http://', 'ws://') + '/chat', origin=url) as ws:
        ws.send(json.dumps({'msg': 'hi'}))
        with pytest.raises(ConnectionClosed) as closed: ws.recv(timeout=30)
    assert closed.value.rcvd.code == 1011
    e = last_entry(kernel)
    assert (e['method'], e['path'], e['status'], e['error']) == ('WEBSOCKET', '/chat', 500, 'RuntimeError: socket boom hi')
    assert re.match(r'Cell In\[\d+\], line 3, in ws', e['where']), e['where']
    assert httpx.get(url + '/').status_code in (200, 404)   # the server lives on
