"""Vendor the front-end assets that python-fasthtml's page headers and script helpers load from a CDN into `fhnb/static/vendor/`.

    python scripts/vendor.py --snapshots DIR            # check every vendored file: npm tarballs and repository snapshots
    python scripts/vendor.py --snapshots DIR --update   # rebuild the vendor folder and manifest from the installed python-fasthtml

The list of assets comes from fasthtml itself (`htmx_exts`, its default `Script`s, Pico, the script helpers of `fasthtml.js`
rendered with their defaults), so `--update` after a fasthtml upgrade picks up the new pinned versions. A URL with no
version, `@latest` or a range (`mermaid@11`) is pinned to what npm has for it when vendored. npm packages come with `npm pack`; files with no npm source come from
a snapshot of their public repository: DIR holds `OWNER+NAME/repo`, a git directory with history and tags (the layout the
snapshot tool writes). Without --snapshots, those files are checked against the manifest's hashes only. CI never runs it."""
import argparse, hashlib, io, json, re, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
vendor = root/'fhnb'/'static'/'vendor'
manifest_path = vendor/'manifest.json'

# CDN URLs that point at GitHub rather than npm: the npm package that holds the same file, or the repository
# (owner/name, ref, file) to take it from. css-scope-inline's author publishes it to npm (1.0.0); surreal on npm is an
# unrelated project and fasthtml-js is not on npm, so those two come from their repositories at the ref fasthtml loads.
gh_sources = {
    'gnat/css-scope-inline@main/script.js': ('css-scope-inline', '1.0.0', 'script.js'),  # the CDN follows main; npm has the release
    'answerdotai/surreal@main/surreal.js': ('repo', 'AnswerDotAI/surreal', 'main', 'surreal.js'),
    'answerdotai/fasthtml-js@1.0.12/fasthtml.js': ('repo', 'AnswerDotAI/fasthtml-js', '1.0.12', 'fasthtml.js'),
}
# GitHub CDN folders whose release files npm has too (`HighlightJS` loads unpinned from highlight.js's cdn-release repository,
# which its maintainers publish to npm as @highlightjs/cdn-assets; highlightjs-copy publishes its dist/ to npm)
gh_folders = {'highlightjs/cdn-release/build/': '@highlightjs/cdn-assets', 'arronhunt/highlightjs-copy/': 'highlightjs-copy'}

# Sibling files a helper's arguments can name: every one the package has is vendored, so `HighlightJS(langs=[...],
# light=..., dark=...)` works offline with any language or theme highlight.js ships
families = {'@highlightjs/cdn-assets': [r'languages/[\w-]+\.min\.js', r'styles/[\w-]+\.css']}
# Files a vendored file loads at run time by a relative URL: vendored beside it (KaTeX's CSS its fonts, Mermaid its chunks)
runtime_loads = {('katex', 'dist/katex.min.css'): r'dist/fonts/[^/]+', ('mermaid', 'dist/mermaid.esm.min.mjs'): r'dist/chunks/mermaid\.esm\.min/[^/]+\.mjs'}

# Files FastHTML apps add to their headers themselves, as fasthtml's own documentation shows: htmx 2's SSE extension is not
# one of fasthtml's `exts=` (htmx 4's `sse4` is), so its docs load it by URL.
extra_urls = {
    'https://unpkg.com/htmx-ext-sse@2.2.1/sse.js': "fasthtml's docs: SSE with htmx 2 (hdrs=Script(src=...))",
    'https://cdn.jsdelivr.net/npm/htmx-ext-sse@2.2.1/sse.js': "fasthtml's docs: SSE with htmx 2, from jsdelivr",
    # KaTeX's documented auto-render snippet, at the version `KatexMarkdownJS` loads its CSS from
    'https://cdn.jsdelivr.net/npm/katex@0.16.11/dist/katex.min.js': "KaTeX's auto-render snippet (with KatexMarkdownJS's CSS)",
    'https://cdn.jsdelivr.net/npm/katex@0.16.11/dist/contrib/auto-render.min.js': "KaTeX's auto-render snippet (with KatexMarkdownJS's CSS)",
    # not a FastHTML header: fhnb's own accessibility checks (fhnb.check, the pytest plugin's app_page.a11y()) run it
    'https://cdn.jsdelivr.net/npm/axe-core@4.14.1/axe.min.js': 'fhnb check and app_page.a11y() (accessibility)',
}

helpers = ('MarkdownJS', 'KatexMarkdownJS', 'HighlightJS', 'SortableJS', 'MermaidJS')
_url_re = re.compile(r'https://[^\s"\'<>`()\\]+')

def helper_urls():
    "CDN URLs the script helpers of `fasthtml.js` load (in `src`/`href` or in their inline modules' `import`s): {url: first helper}"
    import fasthtml.js as js
    from fastcore.xml import to_xml
    from fasthtml.core import flat_xt
    return {u: f'{h}()' for h in reversed(helpers) for u in _url_re.findall(to_xml(flat_xt(getattr(js, h)())))}

def cdn_urls():
    "Every CDN URL python-fasthtml's headers (and its docs' own `Script`s) can load, from the installed fasthtml: {url: what uses it}"
    import fasthtml, fasthtml.core as c, fasthtml.pico as p
    urls = {c.htmxsrc.src: 'default headers', c.htmx4src.src: 'htmx4=True', c.fhjsscr.src: 'default headers',
            c.surrsrc.src: 'default headers (surreal=True)', c.scopesrc.src: 'default headers (surreal=True)',
            p.picocss: 'fast_app pico', p.picocondcss: 'picocondlink'}
    urls |= {u: f'exts={k!r}' for k, u in c.htmx_exts.items()} | helper_urls() | extra_urls
    return urls, fasthtml.__version__

def parse(url):
    "(name, version, file) of the npm package behind a CDN `url` (version 'latest' when it names none), or ('repo', owner/name, ref, file)"
    m = re.match(r'https://[^/]+/(?:npm/)?((?:@[^/]+/)?[^/@]+)(?:@([^/]+))?/(.+)$', url)
    if '/gh/' in url:
        key = url.split('/gh/', 1)[1]
        if key in gh_sources: return gh_sources[key]
        folder = next((f for f in gh_folders if key.startswith(f)), None)
        if folder is None: sys.exit(f'{url}: a GitHub CDN file with no entry in gh_sources or gh_folders; add its npm source or its repository')
        return gh_folders[folder], 'latest', key[len(folder):]
    if not m: sys.exit(f'{url}: not an npm CDN URL (expected .../NAME[@VERSION]/FILE)')
    name, version, file = m.groups()
    return name, version or 'latest', file

def resolve(name, version):
    "The exact version npm has for `version` of `name` (an exact version, 'latest' or a range such as '11')"
    if re.fullmatch(r'\d+\.\d+\.\d+', version): return version
    got = json.loads(npm('view', f'{name}@{version}', 'version', '--json'))
    return max(got if isinstance(got, list) else [got], key=lambda v: tuple(int(x) for x in re.findall(r'\d+', v)[:3]))

def git(repo, *args) -> bytes:
    r = subprocess.run(['git', '--git-dir', str(repo), *args], capture_output=True)
    if r.returncode: sys.exit(f'git {" ".join(args)} in {repo} failed:\n{r.stderr.decode().strip()}')
    return r.stdout

def snapshot(snapshots, slug):
    "The git directory of `slug`'s snapshot under `snapshots`, or exit naming what is missing."
    if snapshots is None: sys.exit(f'{slug}: pass --snapshots DIR holding a snapshot of the repository ({slug.replace("/", "+")}/repo)')
    repo = Path(snapshots)/slug.replace('/', '+')/'repo'
    if not repo.is_dir(): sys.exit(f'{slug}: no snapshot at {repo}')
    return repo

def from_repo(snapshots, slug, ref, file, url, used_by):
    "A manifest entry for `file` of GitHub repository `slug` at `ref` (a tag, or a branch pinned to its commit)."
    repo = snapshot(snapshots, slug)
    commit = git(repo, 'rev-parse', f'{ref}^{{commit}}').decode().strip()
    tagged = ref in git(repo, 'tag', '--points-at', commit).decode().split()
    name = slug.split('/')[1]
    version = ref if tagged else f'{ref}-{commit[:12]}'
    lic = next((f for f in git(repo, 'ls-tree', '--name-only', commit).decode().split() if re.match(r'(?i)licen[cs]e', f)), None)
    if lic is None: sys.exit(f'{slug}@{commit}: no licence file; leave it out')
    text = git(repo, 'show', f'{commit}:{lic}')
    if not spdx({}, text): sys.exit(f'{slug}@{commit}: cannot tell its licence from {lic}; name it in scripts/vendor.py or leave it out')
    d = f'{name}@{version}'
    pin = {} if tagged else {'pin_note': f'the CDN URL follows {ref}; vendored at commit {commit}'}
    entry = dict(name=name, version=version, file=file, path=f'{d}/{file}', url=url, used_by=used_by, repository=slug, commit=commit,
                 sha256=sha256(git(repo, 'show', f'{commit}:{file}')), licence=spdx({}, text), licence_file=f'{d}/{lic}', **pin)
    return entry, {file: git(repo, 'show', f'{commit}:{file}'), lic: text}

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
        lic = ('0BSD' if 'zero' in head and 'bsd' in head else 'MIT' if head.startswith('mit')
               else 'Apache-2.0' if head.startswith('apache license') and b'Version 2.0' in text else None)
    return {'BSD-0-Clause': '0BSD'}.get(lic, lic)

def pkg_dir(name, version): return f"{name.lstrip('@').replace('/', '-')}@{version}"
def sha256(b): return hashlib.sha256(b).hexdigest()

def update(tmp, snapshots=None):
    urls, fh_version = cdn_urls()
    assets, repo_files, beside = [], {}, []
    for url, used_by in urls.items():
        src = parse(url)
        if src[0] == 'repo':
            entry, repo_files[url] = from_repo(snapshots, *src[1:], url, used_by)
            assets.append(entry)
            continue
        name, asked, file = src
        version = resolve(name, asked)   # pinned at vendoring time
        files = tarball(name, version, tmp)
        meta = json.loads(files['package.json'])
        if file == '+esm': file = meta['module'].removeprefix('./')   # jsdelivr's ES module of the package: its `module` entry
        if file not in files: sys.exit(f'{url}: {file} is not in the npm package {name}@{version}')
        d = pkg_dir(name, version)
        lic = licence_of(files)
        note, licence = None, spdx(meta, files[lic] if lic else None)
        if not licence: sys.exit(f'{name}@{version}: cannot tell its licence; name it in scripts/vendor.py or leave it out')
        if lic is None:  # htmx-extensions packages ship no licence file: they are htmx's, under htmx's 0BSD licence
            if not name.startswith('htmx-ext-') or licence != '0BSD':
                sys.exit(f'{name}@{version} ships no licence file; add one by hand or leave it out')
            lic_path, note = 'htmx-ext-LICENSE', "the package ships no licence file; it is htmx's (0BSD), so htmx's licence text is kept"
        else: lic_path = f'{d}/{lic}'
        pin = {'pin_note': f'the CDN URL is unpinned; {name}@{version} is what npm had when vendored'} if asked != version or '/gh/' in url else {}
        entry = dict(name=name, version=version, file=file, path=f'{d}/{file}', url=url, used_by=used_by,
                     sha256=sha256(files[file]), licence=licence, licence_file=lic_path, **({'licence_note': note} if note else {}), **pin)
        assets.append(entry)
        beside += siblings(entry, files, url.removesuffix(src[2]) if url.endswith(src[2]) else None)
    have = {a['path'] for a in assets}   # a file some URL names keeps that entry; each sibling comes once
    for a in beside:
        if a['path'] not in have: assets.append(a); have.add(a['path'])
    htmx = next(a for a in assets if a['name'] == 'htmx.org' and a['licence'] == '0BSD')   # before anything is deleted
    if vendor.exists(): shutil.rmtree(vendor)
    vendor.mkdir(parents=True)
    for a in assets:
        files = repo_files.get(a['url']) or _tarballs[a['name'], a['version']]
        out = vendor/a['path']
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(files[a['file']])
        if 'licence_note' not in a: (vendor/a['licence_file']).write_bytes(files[licence_of(files)])
    if any('licence_note' in a for a in assets):
        shutil.copy(vendor/htmx['licence_file'], vendor/'htmx-ext-LICENSE')
    manifest = dict(fasthtml=fh_version, assets=sorted(assets, key=lambda a: a['path']))
    manifest_path.write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'vendored {len(assets)} files from {len({(a["name"], a["version"]) for a in assets})} packages and repositories')

def siblings(entry, files, base):
    "Manifest entries for the files beside `entry` that its helper's arguments name (`families`) or it loads at run time (`runtime_loads`)"
    pats = [(p, f"{entry['used_by']}: another file of {entry['name']}") for p in families.get(entry['name'], ())]
    if p := runtime_loads.get((entry['name'], entry['file'])): pats.append((p, f"loaded at run time by {entry['path']}"))
    out = []
    for pat, used_by in pats:
        for f in sorted(f for f in files if re.fullmatch(pat, f) and f != entry['file']):
            url = base + f if base else None   # the CDN URL of the sibling, where the entry's URL names the file's path
            out.append({**entry, 'file': f, 'path': f"{entry['path'].removesuffix(entry['file'])}{f}", 'url': url, 'used_by': used_by,
                        'sha256': sha256(files[f])})
    return out

def source_files(a, tmp, snapshots):
    "The files of asset `a`'s source (npm tarball, or its repository snapshot at the pinned commit); `None` when no snapshot was given."
    if 'repository' not in a: return tarball(a['name'], a['version'], tmp)
    if snapshots is None: return None
    repo = snapshot(snapshots, a['repository'])
    lic = Path(a['licence_file']).name
    return {a['file']: git(repo, 'show', f"{a['commit']}:{a['file']}"), lic: git(repo, 'show', f"{a['commit']}:{lic}")}

def check(tmp, snapshots=None):
    manifest = json.loads(manifest_path.read_text())
    bad, unchecked = [], []
    for a in manifest['assets']:
        have = sha256((vendor/a['path']).read_bytes()) if (vendor/a['path']).exists() else 'missing'
        files = source_files(a, tmp, snapshots)
        if files is None:   # no snapshot to compare with: the file must still match the manifest
            unchecked.append(a['path'])
            if have != a['sha256']: bad.append(f"{a['path']}: manifest {a['sha256'][:12]}, file {have[:12]}")
            continue
        got = sha256(files[a['file']])
        if not got == have == a['sha256']: bad.append(f"{a['path']}: manifest {a['sha256'][:12]}, source {got[:12]}, file {have[:12]}")
        lic = licence_of(files)
        if lic and (vendor/a['licence_file']).read_bytes() != files[lic]: bad.append(f"{a['licence_file']}: differs from {a['name']}@{a['version']}'s {lic}")
    if bad: sys.exit('hash mismatch:\n' + '\n'.join(bad))
    urls, _ = cdn_urls()
    new = sorted(set(urls) - {a['url'] for a in manifest['assets']})
    print(f"{len(manifest['assets']) - len(unchecked)} vendored files match their source and the manifest"
          + (f"; {len(unchecked)} match the manifest (no --snapshots to compare with: {', '.join(unchecked)})" if unchecked else ''))
    if new: print('python-fasthtml loads URLs the manifest lacks (run with --update):\n  ' + '\n  '.join(new))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--update', action='store_true', help='rebuild fhnb/static/vendor and its manifest from the installed python-fasthtml')
    ap.add_argument('--snapshots', help='folder of repository snapshots (OWNER+NAME/repo) for the files npm does not have')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp: (update if args.update else check)(tmp, args.snapshots)
