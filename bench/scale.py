"""Scale-out benchmark: the exported todos example through nginx, with 1, 2 and 4 `fhnb serve` workers, on SQLite and on PostgreSQL.

    .venv/bin/python bench/scale.py [--secs 8] [--clients 8] [--writes 0.2] [--repeats 2]

Each configuration: a fresh folder (and, for PostgreSQL, a fresh database in one throwaway cluster), `fhnb serve
fhnb.examples.todos:app --workers N` behind Debian's nginx (as the deploy guide sets it up), then `--clients` users,
each logged in with 20 todos of their own, for `--secs` seconds: a read (GET /, the page with the user's list) or,
with probability `--writes`, a write (toggle one of their todos, which returns the list). The lists keep their size,
so every configuration does the same work per request. The clients run in 2 processes (4 threads each by default) on
the same machine. Requests/s is the median over `--repeats`; ratios are against 1 worker on SQLite in the same run.

As the guide says, `FHNB_ALLOWED_HOSTS` names the public name nginx passes on (here `127.0.0.1`, without a port: nginx's
`$host`); without it fhnb's guard refuses every request with 403. `FHNB_ROOT` is the configuration's fresh folder, so
the app's SQLite file and uploads live there and not in the checkout's `nbs/examples/data`.
"""
import argparse, multiprocessing as mp, os, random, secrets, statistics, subprocess, sys, tempfile, threading, time, uuid
from pathlib import Path
import re
import httpx
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tests'))
from harness import free_port, wait_http
from services import postgres, nginx, psql

HX = {'HX-Request': 'true'}
SITE = '''upstream app {{ server 127.0.0.1:{port}; keepalive 32; }}
server {{ listen 127.0.0.1:{front};
  location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }} }}'''

def user_session(url:str, name:str) -> tuple[dict, list[int]]:
    "Log `name` in and give them 20 todos; their cookies and todo ids."
    with httpx.Client(base_url=url, timeout=30) as c:
        c.post('/login', data={'user': name})
        for i in range(20): r = c.post('/todos', data={'title': f'{name} {i}', 'priority': i % 5}, headers=HX)
        ids = [int(x) for x in re.findall(r'id="todo-(\d+)"', r.text)]
        if not ids: sys.exit(f'bench: {name} has no todos after 20 POST /todos: the last answered {r.status_code} {r.text[:200]!r}')
        return dict(c.cookies), ids

def client_proc(url, sessions, secs, writes, q):
    "One client process: a thread per session, reads and writes until `secs` pass; puts (requests, errors)."
    counts, end = [], time.monotonic() + secs
    def run(cookies, ids):
        n = err = 0
        rnd = random.Random(cookies.get('session_', '')[:8])
        with httpx.Client(base_url=url, cookies=cookies, timeout=30) as c:
            while time.monotonic() < end:
                r = c.post(f'/todos/{rnd.choice(ids)}/toggle', headers=HX) if rnd.random() < writes else c.get('/')
                n += 1; err += r.status_code != 200
        counts.append((n, err))
    ts = [threading.Thread(target=run, args=s) for s in sessions]
    for t in ts: t.start()
    for t in ts: t.join()
    q.put((sum(n for n, _ in counts), sum(e for _, e in counts)))

def measure(env:dict, workers:int, args) -> tuple[float, int]:
    "Requests/s (and errors) for one configuration."
    port, front = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        log = open(Path(d)/'serve.log', 'w')
        p = subprocess.Popen([sys.executable, '-m', 'fhnb', 'serve', 'fhnb.examples.todos:app', '--port', str(port), '--workers', str(workers)],
                             cwd=d, env=env | {'FHNB_ROOT': d}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_http(f'http://127.0.0.1:{port}/login', proc=p)
            with nginx(SITE.format(port=port, front=front)):
                url = f'http://127.0.0.1:{front}'
                sessions = [user_session(url, f'u{i}-{uuid.uuid4().hex[:6]}') for i in range(args.clients)]
                time.sleep(1)   # every worker up
                q = mp.Queue()
                procs = [mp.Process(target=client_proc, args=(url, sessions[i::2], args.secs, args.writes, q)) for i in range(2)]
                for c in procs: c.start()
                res = [q.get() for _ in procs]
                for c in procs: c.join()
                return sum(n for n, _ in res) / args.secs, sum(e for _, e in res)
        finally:
            os.killpg(p.pid, 2)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, 9); p.wait()
            log.close()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--secs', type=float, default=8)
    ap.add_argument('--clients', type=int, default=8)
    ap.add_argument('--writes', type=float, default=0.2)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--workers', default='1,2,4')
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith('FHNB_')} | {'FHNB_SECRET_KEY': secrets.token_urlsafe(32), 'FHNB_ALLOWED_HOSTS': '127.0.0.1'}
    rows = {}
    with postgres() as cluster:
        for rep in range(args.repeats):
            for backend in ('sqlite', 'postgresql'):
                for w in map(int, args.workers.split(',')):
                    env = dict(base)
                    if backend == 'postgresql':
                        name = 'bench_' + uuid.uuid4().hex[:8]
                        psql(cluster, f'create database {name}')
                        env['FHNB_DATABASE'] = cluster.rsplit('/', 1)[0] + '/' + name
                    rps, errors = measure(env, w, args)
                    rows.setdefault((backend, w), []).append((rps, errors))
                    print(f'  {backend:10} {w} workers: {rps:7.1f} req/s ({errors} errors)', file=sys.stderr, flush=True)
    ref = statistics.median(r for r, _ in rows[('sqlite', 1)])
    print(f'todos example through nginx, {args.clients} clients, {args.writes:.0%} writes, {args.secs:g} s x {args.repeats}; {os.cpu_count()} cores')
    print(f'{"backend":12}{"workers":>8}{"req/s":>10}{"ratio":>8}{"errors":>8}')
    for (backend, w), v in rows.items():
        rps = statistics.median(r for r, _ in v)
        print(f'{backend:12}{w:>8}{rps:>10.1f}{rps / ref:>8.2f}{sum(e for _, e in v):>8}')

if __name__ == '__main__': main()
