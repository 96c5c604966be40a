"""fhnb.testing in a real kernel: `HxClient` answers shown inline, and fhnb's `HTML` in the seed's two spellings."""
import textwrap
import httpx
from harness import free_port, wait_http

WELCOME = textwrap.dedent('''
    from fasthtml.common import *
    from fhnb import *
    app, rt = fast_app()

    @rt('/')
    def get(): return HTML(Body(Main(H1('Hello, World!'), Input(name='username', hx_post='/welcome', hx_target='#welcome-msg', hx_swap='innerHTML'), P(id='welcome-msg'))))

    @rt('/welcome')
    def post(username: str = ''): return P(f'Welcome {username}!')

    hx = HxClient(app)''')

def test_hxclient_answer_shows_the_fragment(kernel):
    kernel.ok(WELCOME)
    out = kernel.ok("hx.post('/welcome', username='ann', hx_target='#welcome-msg')").outputs[0]
    assert out['text/plain'].startswith('POST /welcome → 200')
    assert '<code>POST /welcome</code>' in out['text/html'] and '<p>Welcome ann!</p>' in out['text/html']

def test_html_string_is_raw_markup_like_ipython(kernel):
    kernel.ok('from fhnb import *')
    out = kernel.ok("HTML('<b id=answer>forty-two</b>')").outputs[0]
    assert out['text/html'] == '<b id=answer>forty-two</b>'

def test_seed_page_with_HTML_served_over_http(kernel):
    "The seed's `return HTML(Body(Main(...)))`, verbatim, through a real server: one whole page."
    kernel.ok(WELCOME)
    port = free_port()
    kernel.ok(textwrap.dedent(f'''
        import importlib.util
        if importlib.util.find_spec('fhnb.server'): serve_nb(app, port={port})
        else:
            import threading, uvicorn
            _srv = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port={port}, log_level='warning'))
            threading.Thread(target=_srv.run, daemon=True).start()'''))
    base = f'http://127.0.0.1:{port}'
    wait_http(base + '/', timeout=30)
    page = httpx.get(base + '/', timeout=10).text
    assert page.count('<html') == 1 and '<main>' in page and 'Hello, World!' in page
    r = httpx.post(base + '/welcome', data=dict(username='bob'), headers={'HX-Request': 'true'}, timeout=10)
    assert r.text.strip() == '<p>Welcome bob!</p>'
