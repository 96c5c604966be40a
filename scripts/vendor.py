"""Vendor the front-end assets that python-fasthtml's page headers load from a CDN into `fhnb/static/vendor/`.

    python scripts/vendor.py            # re-fetch every asset in the manifest with `npm pack` and check its sha256
    python scripts/vendor.py --update   # rebuild the vendor folder and manifest from the installed python-fasthtml

The list of assets comes from fasthtml itself (`htmx_exts`, its default `Script`s, Pico), so `--update` after a
fasthtml upgrade picks up the new pinned versions. Needs `npm` and the npm registry; CI never runs it."""
import argparse, hashlib, io, json, re, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
vendor = root/'fhnb'/'static'/'vendor'
manifest_path = vendor/'manifest.json'
stubs = root/'fhnb'/'static'/'unvendored'

# CDN URLs that point at GitHub rather than npm: the npm package that holds the same file, or None when there is none.
# css-scope-inline's author publishes it to npm (1.0.0); surreal on npm is an unrelated project; fasthtml-js is not on npm.
gh_sources = {
    'gnat/css-scope-inline@main/script.js': ('css-scope-inline', '1.0.0', 'script.js'),  # the CDN follows main; npm has the release
    'answerdotai/surreal@main/surreal.js': None,
    'answerdotai/fasthtml-js@1.0.12/fasthtml.js': None,
}
# What a page loses when an unvendored script is missing (shown in fhnb's one warning, and in the browser console).
breaks = {
    'surreal': "surreal's `me()`/`any()` helpers, so inline scripts that use them (fasthtml's `On`, `Prev`, `Now`, `AnyNow`) do nothing",
    'fasthtml-js': "fasthtml.js's `proc_htmx`, used by fasthtml's `MarkdownJS`, `SortableJS`, `MermaidJS` and `KatexMarkdownJS`",
}

def cdn_urls():
    "Every CDN URL python-fasthtml's headers can load, from the installed fasthtml: {url: what uses it}"
    import fasthtml, fasthtml.core as c, fasthtml.pico as p
    urls = {c.htmxsrc.src: 'default headers', c.htmx4src.src: 'htmx4=True', c.fhjsscr.src: 'default headers',
            c.surrsrc.src: 'default headers (surreal=True)', c.scopesrc.src: 'default headers (surreal=True)',
            p.picocss: 'fast_app pico', p.picocondcss: 'picocondlink'}
    urls |= {u: f'exts={k!r}' for k, u in c.htmx_exts.items()}
    return urls, fasthtml.__version__

def parse(url):
    "(name, version, file) of the npm package behind a CDN `url`, None for a GitHub file with no npm source"
    m = re.match(r'https://[^/]+/(?:npm/)?((?:@[^/]+/)?[^/@]+)@([^/]+)/(.+)$', url)
    if '/gh/' in url:
        key = url.split('/gh/', 1)[1]
        if key not in gh_sources: sys.exit(f'{url}: a GitHub CDN file with no entry in gh_sources; add its npm source or None')
        return gh_sources[key]
    if not m: sys.exit(f'{url}: not an npm CDN URL (expected .../NAME@VERSION/FILE)')
    return m.groups()

def npm(*args, cwd=None):
    r = subprocess.run(['npm', *args], capture_output=True, text=True, cwd=cwd)
    if r.returncode: sys.exit(f'npm {" ".join(args)} failed:\n{r.stderr.strip()}')
    return r.stdout.strip()

_tarballs = {}
def tarball(name, version, tmp):
    "Members of the npm tarball of `name@version` as {path inside package: bytes}"
    if (name, version) not in _tarballs:
        out = json.loads(npm('pack', f'{name}@{version}', '--json', '--pack-destination', str(tmp), cwd=tmp))
        with tarfile.open(Path(tmp)/out[0]['filename']) as t:
            _tarballs[name, version] = {m.name.split('/', 1)[1]: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
    return _tarballs[name, version]

def licence_of(files):
    "Name of the licence file in a package, or None"
    return next((f for f in sorted(files) if '/' not in f and re.match(r'(?i)licen[cs]e', f)), None)

def spdx(meta, text):
    "SPDX id of a package's licence: its package.json `license`, else read off the licence file's first line"
    lic = meta.get('license')
    if not lic and text:
        head = text.decode(errors='replace').strip().splitlines()[0].lower()
        lic = '0BSD' if 'zero' in head and 'bsd' in head else 'MIT' if head.startswith('mit') else None
    return {'BSD-0-Clause': '0BSD'}.get(lic, lic)

def pkg_dir(name, version): return f"{name.lstrip('@').replace('/', '-')}@{version}"
def sha256(b): return hashlib.sha256(b).hexdigest()

def update(tmp):
    urls, fh_version = cdn_urls()
    assets, unvendored = [], []
    for url, used_by in urls.items():
        src = parse(url)
        if src is None:
            name = url.split('/gh/', 1)[1].split('/')[1].split('@')[0]
            unvendored.append(dict(name=name, url=url, used_by=used_by, breaks=breaks[name], stub=f'unvendored/{name}.js'))
            continue
        name, version, file = src
        if version == 'latest': version = npm('view', f'{name}@latest', 'version')  # pinned at vendoring time
        files = tarball(name, version, tmp)
        if file not in files: sys.exit(f'{url}: {file} is not in the npm package {name}@{version}')
        meta = json.loads(files['package.json'])
        d = pkg_dir(name, version)
        lic = licence_of(files)
        note, licence = None, spdx(meta, files[lic] if lic else None)
        if not licence: sys.exit(f'{name}@{version}: cannot tell its licence; name it in scripts/vendor.py or leave it out')
        if lic is None:  # htmx-extensions packages ship no licence file: they are htmx's, under htmx's 0BSD licence
            if not name.startswith('htmx-ext-') or licence != '0BSD':
                sys.exit(f'{name}@{version} ships no licence file; add one by hand or leave it out')
            lic_path, note = 'htmx-ext-LICENSE', "the package ships no licence file; it is htmx's (0BSD), so htmx's licence text is kept"
        else: lic_path = f'{d}/{lic}'
        pin = {'pin_note': f'the CDN URL is unpinned; {name}@{version} is what npm had when vendored'} if '/gh/' in url or '@latest/' in url else {}
        assets.append(dict(name=name, version=version, file=file, path=f'{d}/{file}', url=url, used_by=used_by,
                           sha256=sha256(files[file]), licence=licence, licence_file=lic_path, **({'licence_note': note} if note else {}), **pin))
    htmx = next(a for a in assets if a['name'] == 'htmx.org' and a['licence'] == '0BSD')   # before anything is deleted
    if vendor.exists(): shutil.rmtree(vendor)
    vendor.mkdir(parents=True)
    for a in assets:
        files = _tarballs[a['name'], a['version']]
        out = vendor/a['path']
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(files[a['file']])
        if 'licence_note' not in a: (vendor/a['licence_file']).write_bytes(files[licence_of(files)])
    if any('licence_note' in a for a in assets):
        shutil.copy(vendor/htmx['licence_file'], vendor/'htmx-ext-LICENSE')
    if stubs.exists(): shutil.rmtree(stubs)
    stubs.mkdir()
    for u in unvendored:  # served in place of the CDN file, so an offline page makes no request off the machine and says why
        msg = (f"fhnb offline: {u['name']} is not vendored (no npm source); missing: {u['breaks'].replace('`', '')}. "
               "Set offline = false in settings.ini to load it from its CDN.")
        (stubs/f"{u['name']}.js").write_text(f"// fhnb: {u['url']} has no npm source, so fhnb does not vendor it.\nconsole.warn({json.dumps(msg)})\n")
    manifest = dict(fasthtml=fh_version, assets=sorted(assets, key=lambda a: a['path']), unvendored=unvendored)
    manifest_path.write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'vendored {len(assets)} files from {len({(a["name"], a["version"]) for a in assets})} npm packages; '
          f'no npm source: {", ".join(u["name"] for u in unvendored)}')

def check(tmp):
    manifest = json.loads(manifest_path.read_text())
    bad = []
    for a in manifest['assets']:
        files = tarball(a['name'], a['version'], tmp)
        got = sha256(files[a['file']])
        have = sha256((vendor/a['path']).read_bytes()) if (vendor/a['path']).exists() else 'missing'
        if not got == have == a['sha256']: bad.append(f"{a['path']}: manifest {a['sha256'][:12]}, npm {got[:12]}, file {have[:12]}")
        lic = licence_of(files)
        if lic and (vendor/a['licence_file']).read_bytes() != files[lic]: bad.append(f"{a['licence_file']}: differs from {a['name']}@{a['version']}'s {lic}")
    if bad: sys.exit('hash mismatch:\n' + '\n'.join(bad))
    urls, _ = cdn_urls()
    known = {a['url'] for a in manifest['assets']} | {u['url'] for u in manifest['unvendored']}
    new = sorted(set(urls) - known)
    print(f"{len(manifest['assets'])} vendored files match npm and the manifest")
    if new: print('python-fasthtml loads URLs the manifest lacks (run with --update):\n  ' + '\n  '.join(new))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--update', action='store_true', help='rebuild fhnb/static/vendor and its manifest from the installed python-fasthtml')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp: (update if args.update else check)(tmp)
