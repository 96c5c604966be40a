"""Scale out, as the README's deploy guide (from nbs/index.ipynb) says, with real parts: a throwaway PostgreSQL cluster,
two `fhnb serve` processes in two empty folders (two machines) with one shared folder (`FHNB_ROOT`), and Debian's nginx balancing between them.
Every command of the guide is read out of README.md and run here, with host names replaced by loopback ports."""
from __future__ import annotations
import os, random, re, shlex, signal, socket, subprocess, sys, threading, time
from contextlib import contextmanager
from pathlib import Path
import httpx
from bs4 import BeautifulSoup
from harness import wait_http
from services import postgres, nginx, psql

README = Path(__file__).resolve().parent.parent/'README.md'
HX = {'HX-Request': 'true'}

def guide_blocks() -> list[tuple[str, str]]:
    "The fenced code blocks (language, text) of the README's deploy guide, in order."
    guide = README.read_text().split('\n## Deploying on several machines\n', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```(\w+)\n(.*?)```', guide, re.S)

def listen_ports(n:int) -> list[int]:
    "`n` distinct free loopback ports below Linux's ephemeral range: no outgoing connection (the workers' to PostgreSQL) can take one before its server binds it."
    ports = []
    while len(ports) < n:
        p = random.randint(20000, 32000)
        with socket.socket() as sock:
            try: sock.bind(('127.0.0.1', p))
            except OSError: continue
        if p not in ports: ports.append(p)
    return ports

def local(text:str, names:dict) -> str:
    "`text` with the guide's host names (and ports) replaced by this machine's loopback addresses."
    for k, v in names.items(): text = text.replace(k, v)
    return text

@contextmanager
def machine(cmd:list[str], env:dict, folder:Path):
    "`fhnb serve` run in `folder` (an empty folder: another machine); yields the process. Its process group is ended after."
    folder.mkdir()
    out = open(folder.parent/f'{folder.name}.log', 'w')
    p = subprocess.Popen([sys.executable, '-m', 'fhnb', *cmd[1:]], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try: yield p
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()
        out.close()

def todo_titles(r:httpx.Response) -> list[str]:
    return [s.text for s in BeautifulSoup(r.text, 'html.parser').select('#todo-list li span')]

def kill_during_writes(url:str, cookies, victim:subprocess.Popen) -> list[tuple]:
    "100 writes from 4 threads; the 50th to start kills `victim`'s process group. (title, status, upstream, seconds after the kill) each, in the order they ended."
    results, lock, started, killed = [], threading.Lock(), [0], []
    def writer(n):
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as c:
            for j in range(25):
                with lock:
                    started[0] += 1
                    if started[0] == 50: os.killpg(victim.pid, signal.SIGKILL); killed.append(time.monotonic())
                title = f'more {n}.{j}'
                r = c.post('/todos', data={'title': title, 'priority': 1}, headers=HX)
                done = time.monotonic()
                results.append((title, r.status_code, r.headers.get('x-upstream', ''), done - killed[0] if killed else -1))
    ts = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    return results

@contextmanager
def deployed(tmp_path:Path, app:str|None=None, env:dict|None=None):
    "The guide's steps 1-4 on this machine, serving the guide's app (or `app`, found through `env`): yields (the balancer's URL, machine 1, machine 2, the app's database URL, the two machines' ports)."
    blocks = guide_blocks()
    assert [lang for lang, _ in blocks] == ['bash', 'bash', 'bash', 'nginx'], blocks
    with postgres() as admin:
        server = re.search(r'@([^/]+)/', admin).group(1)                    # 127.0.0.1:PORT of the throwaway cluster
        admin_user = admin.split('//')[1].split('@')[0]                      # its administrator (with password)
        p1, p2, front = listen_ports(3)
        shared = tmp_path/'shared'                                           # the folder every app machine mounts
        shared.mkdir()
        names = {'postgres@db.internal:5432': f'{admin_user}@{server}', 'db.internal:5432': server,
                 'app1.internal:5001': f'127.0.0.1:{p1}', 'app2.internal:5001': f'127.0.0.1:{p2}', 'listen 80;': f'listen 127.0.0.1:{front};',
                 'todos.example.com': '127.0.0.1', '/mnt/shared/todos': str(shared)}
        # 1. The database: the role and database, as the guide makes them.
        for line in blocks[0][1].strip().splitlines():
            subprocess.run(shlex.split(local(line, names)), check=True, capture_output=True, text=True)
        # 2. One session key.
        key = subprocess.run(shlex.split(blocks[1][1].strip()), check=True, capture_output=True, text=True).stdout.strip()
        assert len(key) >= 40
        # 3. Each app machine: the environment (the shared folder among it) and the serve command.
        lines = local(blocks[2][1], names).strip().splitlines()
        exports = dict(l.removeprefix('export ').split('=', 1) for l in lines if l.startswith('export '))
        exports['FHNB_SECRET_KEY'] = key
        assert exports['FHNB_ROOT'] == str(shared)
        run_env = {**{k: v for k, v in os.environ.items() if not k.startswith('FHNB_')}, **exports, **(env or {})}
        serve = shlex.split(next(l for l in lines if l.startswith('fhnb serve')))
        if app: serve = [app if a.endswith(':app') else a for a in serve]
        on = lambda port: [a if a not in ('0.0.0.0', '5001') else {'0.0.0.0': '127.0.0.1', '5001': str(port)}[a] for a in serve]
        with machine(on(p1), run_env, tmp_path/'machine1') as m1, machine(on(p2), run_env, tmp_path/'machine2') as m2:
            for p, port in [(m1, p1), (m2, p2)]: wait_http(f'http://127.0.0.1:{port}/', proc=p)
            # 4. nginx in front, with the guide's blocks.
            with nginx(local(blocks[3][1], names)):
                yield f'http://127.0.0.1:{front}', m1, m2, exports['FHNB_DATABASE'], (p1, p2)

def test_deploy_guide_through_nginx(tmp_path):
    with deployed(tmp_path) as (url, m1, m2, app_url, (p1, p2)):
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.post('/login', data={'user': 'ann'}).status_code == 303
            assert c.post('/login', data={'user': 'ann'}, headers={'origin': url}).status_code == 303   # a browser's write, from the page
            assert c.post('/login', data={'user': 'eve'}, headers={'origin': 'http://evil.example'}).status_code == 403
            upstreams = []
            for i in range(200):   # each response is the list with the todo just added
                r = c.post('/todos', data={'title': f'todo {i}', 'priority': 1}, headers=HX)
                assert r.status_code == 200 and f'todo {i}' in todo_titles(r), (i, r.status_code, r.text[:300])
                upstreams.append(r.headers['x-upstream'])
            assert {u: upstreams.count(u) for u in set(upstreams)}.keys() == {f'127.0.0.1:{p1}', f'127.0.0.1:{p2}'}, set(upstreams)
            assert psql(app_url, "select count(*), count(distinct title) from todos where owner = 'ann'") == '200|200'
            assert [f for f in (tmp_path/'machine1').rglob('*') if f.suffix in ('.db', '.sqlite')] == []
            assert [f for f in (tmp_path/'machine2').rglob('*') if f.suffix in ('.db', '.sqlite')] == []
            # One machine dies (SIGKILL, its workers too) in the middle of 100 more writes from 4 users' tabs at once.
            results = kill_during_writes(url, c.cookies, m1)
            failed = [(t, s) for t, s, _, _ in results if s != 200]
            print(f'machine 1 killed during 100 writes: {len(failed)} failed {failed}; upstreams of the first 200: {sorted(set(upstreams))}')
            assert len(failed) <= 4, failed                          # at most the writes in flight when it died
            assert all(s == 200 and u.split(', ')[-1] == f'127.0.0.1:{p2}' for _, s, u, _ in results[-30:]), results[-30:]   # then the other machine answers all (nginx tries the dead one again after fail_timeout: X-Upstream then lists both, the answering one last)
            counts = psql(app_url, "select title, count(*) from todos where title like 'more %' group by title")
            rows = dict(l.split('|') for l in counts.splitlines())
            ok = [t for t, s, _, _ in results if s == 200]
            assert all(rows.get(t) == '1' for t in ok), {t: rows.get(t) for t in ok if rows.get(t) != '1'}
            assert set(rows.values()) == {'1'}                          # nothing written twice

COVERS = """from fasthtml.common import *
app, rt = fast_app()

@rt('/covers/{n}')
async def post(n:int, cover:UploadFile):
    Path('data/covers').mkdir(parents=True, exist_ok=True)
    Path(f'data/covers/{n}.png').write_bytes(await cover.read())
    return P('saved')

@rt('/covers/{n}')
def get(n:int): return FileResponse(f'data/covers/{n}.png')
"""

def test_a_file_uploaded_through_one_machine_is_served_by_the_other(tmp_path):
    "The guide's shared folder (`FHNB_ROOT`): a cover uploaded through machine 1 is served by machine 2, and through the balancer whichever machine answers."
    code = tmp_path/'code'
    code.mkdir()
    (code/'covers.py').write_text(COVERS)
    png = bytes(range(256)) * 4
    with deployed(tmp_path, 'covers:app', {'PYTHONPATH': str(code)}) as (url, m1, m2, _, (p1, p2)):
        with httpx.Client(timeout=30) as c:
            r = c.post(f'http://127.0.0.1:{p1}/covers/3', files={'cover': ('3.png', png, 'image/png')}, headers=HX)
            assert r.status_code == 200 and r.text.strip() == '<p>saved</p>', (r.status_code, r.text[:300])
            r = c.get(f'http://127.0.0.1:{p2}/covers/3')
            assert r.status_code == 200 and r.content == png, r.status_code
            seen = set()
            for _ in range(6):   # nginx takes turns: both machines answer
                r = c.get(f'{url}/covers/3')
                assert r.status_code == 200 and r.content == png, r.status_code
                seen.add(r.headers['x-upstream'])
            assert seen == {f'127.0.0.1:{p1}', f'127.0.0.1:{p2}'}, seen
    assert (tmp_path/'shared'/'data'/'covers'/'3.png').read_bytes() == png
    assert not list((tmp_path/'machine1').rglob('*.png')) and not list((tmp_path/'machine2').rglob('*.png'))
