"""Real services for the scale-out tests: a throwaway PostgreSQL cluster and an nginx load balancer, each on a free
loopback port in a temp folder, stopped after. Missing binaries skip the test with the reason, or fail it under
FHNB_REQUIRE_SERVICES=1 (set by .ci/run, which installs both)."""
from __future__ import annotations
import os, shutil, subprocess, tempfile, time
from contextlib import contextmanager
from pathlib import Path
import pytest
from harness import free_port

PG_BIN = Path(os.environ.get('FHNB_PG_BIN', '/usr/lib/postgresql/15/bin'))
NGINX = os.environ.get('FHNB_NGINX') or shutil.which('nginx') or '/usr/sbin/nginx'
PG_USER, PG_PASSWORD, PG_DB = 'fhnb', 'fhnb-test-pw', 'fhnb'

def require(reason:str|None):
    "Skip the test for `reason` (a missing service), or fail it when CI requires services."
    if not reason: return
    if os.environ.get('FHNB_REQUIRE_SERVICES') == '1': pytest.fail(reason)
    pytest.skip(reason)

def postgres_missing_reason() -> str|None:
    if (PG_BIN/'initdb').exists() and (PG_BIN/'postgres').exists(): return None
    return f'PostgreSQL binaries not found in {PG_BIN}: apt-get install postgresql (CI installs it; FHNB_REQUIRE_SERVICES=1 makes this a failure)'

def nginx_missing_reason() -> str|None:
    if Path(NGINX).exists(): return None
    return 'nginx not found: apt-get install nginx (CI installs it; FHNB_REQUIRE_SERVICES=1 makes this a failure)'

def _as_postgres() -> dict:
    "Run PostgreSQL's programs as the `postgres` OS user when we are root (initdb refuses root)."
    return dict(user='postgres', group='postgres') if os.geteuid() == 0 else {}

def _stop(p:subprocess.Popen, log, root:Path):
    "Stop a service's process `p` (killed if it takes over 20 s), close its `log`, remove its folder `root`."
    p.terminate()
    try: p.wait(20)
    except subprocess.TimeoutExpired: p.kill(); p.wait()
    log.close()
    shutil.rmtree(root, ignore_errors=True)

@contextmanager
def postgres(max_connections:int=300):
    "A fresh PostgreSQL cluster on a free loopback port; yields its URL (user fhnb, database fhnb). Stopped and removed after."
    require(postgres_missing_reason())
    root = Path(tempfile.mkdtemp(prefix='fhnb-pg-'))
    data, pw = root/'data', root/'pw'
    pw.write_text(PG_PASSWORD)
    if os.geteuid() == 0: shutil.chown(root, 'postgres', 'postgres'); shutil.chown(pw, 'postgres', 'postgres')
    run = dict(check=True, capture_output=True, text=True, **_as_postgres())
    subprocess.run([PG_BIN/'initdb', '-D', data, '-U', PG_USER, '--pwfile', pw, '-A', 'scram-sha-256', '-E', 'UTF8'], **run)
    port = free_port()
    log = open(root/'log', 'w')
    p = subprocess.Popen([PG_BIN/'postgres', '-D', data, '-p', str(port), '-k', root, '-c', 'listen_addresses=127.0.0.1',
                          '-c', f'max_connections={max_connections}', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
                         stdout=log, stderr=subprocess.STDOUT, **_as_postgres())
    env = {**os.environ, 'PGPASSWORD': PG_PASSWORD}
    try:
        end = time.monotonic() + 60
        while subprocess.run([PG_BIN/'pg_isready', '-h', '127.0.0.1', '-p', str(port)], capture_output=True).returncode:
            assert p.poll() is None and time.monotonic() < end, f'postgres did not start: {(root/"log").read_text()[-2000:]}'
            time.sleep(0.1)
        subprocess.run([PG_BIN/'createdb', '-h', '127.0.0.1', '-p', str(port), '-U', PG_USER, PG_DB], check=True, env=env, capture_output=True)
        yield f'postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}/{PG_DB}'
    finally: _stop(p, log, root)

def psql(url:str, sql:str) -> str:
    "Run `sql` with PostgreSQL's own client against `url`; its unaligned output."
    return subprocess.run([PG_BIN.parent/'bin'/'psql', url, '-XAtc', sql], check=True, capture_output=True, text=True).stdout.strip()

NGINX_CONF = '''daemon off; {user}worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {root}/access.log;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
{site}
}}
'''

@contextmanager
def nginx(site:str):
    "nginx running `site` (its `upstream` and `server` blocks) in a temp folder; stopped after."
    require(nginx_missing_reason())
    root = Path(tempfile.mkdtemp(prefix='fhnb-nginx-'))
    conf = root/'nginx.conf'
    conf.write_text(NGINX_CONF.format(root=root, site=site, user='user root; ' if os.geteuid() == 0 else ''))
    log = open(root/'out', 'w')
    p = subprocess.Popen([NGINX, '-p', root, '-c', conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 30
        while not (root/'nginx.pid').exists():   # written once its sockets listen
            assert p.poll() is None and time.monotonic() < end, f'nginx did not start: {(root/"out").read_text()} {(root/"error.log").read_text() if (root/"error.log").exists() else ""}'
            time.sleep(0.05)
        yield root
    finally: _stop(p, log, root)
