// fhnb Preview widget: an iframe of the kernel's server, a toolbar and a request inspector.
// The page lives in an iframe, so its CSS and scripts never touch JupyterLab's own UI.
// The page talks to the widget through fhnb/static/frame.js (postMessage: height, location).

const VIEWPORTS = { phone: 390, tablet: 768, full: null };
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Jupyter's base URL (ends with '/'), from the page config JupyterLab and Notebook 7 embed. */
function jupyterBase() {
  const el = document.getElementById('jupyter-config-data');
  if (el) { try { const c = JSON.parse(el.textContent); if (c.baseUrl) return c.baseUrl; } catch (e) { /* fall through */ } }
  return document.body.dataset.baseUrl || '/';
}

/** True when `url` answers within `ms`. @param {string} url @param {RequestInit} opts */
async function answers(url, opts, ms = 1500) {
  const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), ms);
  try {
    const r = await fetch(url, { cache: 'no-store', signal: ctl.signal, ...opts });
    return r.type === 'opaque' || r.ok;
  } catch (e) { return false; } finally { clearTimeout(timer); }
}

// "url|port|mode" -> Promise of a working route, shared by every preview on the page (and every copy of this module)
const routes = (globalThis.__fhnbRoutes ??= new Map());

/** Whether to try the direct URL at all: a remote JupyterLab's browser has its own 127.0.0.1. */
const lanLocal = (mode) => mode === 'direct' || (mode === 'auto' && LOOPBACK.has(location.hostname));

/** How this browser reaches the kernel's server: {mode: 'direct'|'proxy'|'none', root}. */
function findRoute(url, port, mode) {
  const key = `${url}|${port}|${mode}`;
  if (routes.has(key)) return routes.get(key);
  const proxied = `${jupyterBase()}proxy/${port}`;
  const found = (async () => {
    if (mode === 'direct') return { mode: 'direct', root: url };
    if (mode === 'jupyter-server-proxy') return { mode: 'proxy', root: proxied };
    if (lanLocal(mode) && await answers(`${url}/_fhnb/health`, { mode: 'no-cors' })) return { mode: 'direct', root: url };
    if (await answers(`${proxied}/_fhnb/health`, { credentials: 'same-origin' })) return { mode: 'proxy', root: proxied };
    return { mode: 'none', root: url };
  })();
  routes.set(key, found);
  found.then((r) => { if (r.mode === 'none') routes.delete(key); });  // try again next time
  return found;
}

/** A small element helper. */
function h(tag, props = {}, ...kids) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids.filter((k) => k != null));
  return e;
}

/** The traceback in the server's 500 page (its <pre>), or null. @param {string} html */
function tracebackOf(html) {
  const pre = new DOMParser().parseFromString(html, 'text/html').querySelector('pre');
  return pre ? pre.textContent : null;
}

/** The response frame.js reported for log entry `r`: same method, path and status, nearest in time (within 5 s). */
function responseFor(r, responses) {
  let best = null;
  for (const x of responses) {
    if (x.method !== r.method || x.path !== r.path || x.status !== r.status) continue;
    const dt = Math.abs(x.t - r.time * 1000);
    if (dt < 5000 && (!best || dt < best.dt)) best = { dt, x };
  }
  return best && best.x;
}

function requestItem(r) {
  const bad = r.status >= 400 || r.error;
  const sum = h('summary', { className: bad ? 'fhnb-bad' : '' },
    h('b', {}, r.method), ` ${r.path}${r.query ? '?' + r.query : ''} `,
    h('span', { className: 'fhnb-status' }, String(r.status ?? '…')), ` ${Math.round(r.ms ?? 0)} ms`);
  const parts = [];
  if (r.form && (typeof r.form === 'string' || Object.keys(r.form).length)) {
    const form = typeof r.form === 'string' ? r.form : Object.entries(r.form).map(([k, v]) => `${k} = ${v}`).join('\n');
    parts.push(h('div', {}, 'form'), h('pre', {}, form));
  }
  const tb = r.traceback || (r.status >= 500 && r.response ? tracebackOf(r.response) : null);
  if (r.response && !tb) parts.push(h('div', {}, 'response'), h('pre', {}, r.response));
  if (r.error || tb) parts.push(h('div', {}, 'error'), h('pre', { className: 'fhnb-bad' }, tb || r.error));
  return h('details', { className: 'fhnb-req' }, sum, ...parts);
}

function render({ model, el }) {
  el.classList.add('fhnb-preview');
  const reload = h('button', { className: 'fhnb-btn', title: 'Reload', textContent: '⟳' });
  const address = h('input', { className: 'fhnb-address', spellcheck: false, title: 'Path on the app; Enter to go' });
  address.setAttribute('data-lm-suppress-shortcuts', 'true');
  const form = h('form', { className: 'fhnb-go' }, address);
  const sizes = Object.keys(VIEWPORTS).map((v) => h('button', { className: 'fhnb-btn', textContent: v, title: VIEWPORTS[v] ? `${VIEWPORTS[v]} px wide` : 'full width' }));
  sizes.forEach((b) => { b.dataset.viewport = b.textContent; });
  const count = h('span', { className: 'fhnb-count' });
  const inspect = h('button', { className: 'fhnb-btn', title: 'Requests of this preview' }, 'requests', count);
  const open = h('a', { className: 'fhnb-btn', target: '_blank', rel: 'noopener', title: 'Open in a new tab', textContent: '↗' });
  const bar = h('div', { className: 'fhnb-bar' }, reload, form, ...sizes, inspect, open);
  const note = h('div', { className: 'fhnb-note' });
  const iframe = h('iframe', { className: 'fhnb-frame', name: `fhnb-${model.get('key')}` });
  const stage = h('div', { className: 'fhnb-stage' }, iframe);
  const list = h('div', { className: 'fhnb-list' });
  const pane = h('div', { className: 'fhnb-inspector' }, list);
  el.append(bar, note, stage, pane);

  let route = null, current = model.get('path'), scrollY = 0, lastY = 0;  // lastY: the page's scroll, scrollY: to restore
  const responses = [];  // what frame.js saw come back to HTMX requests, newest last
  const src = (path) => route.root + (path.startsWith('/') ? path : '/' + path);
  const load = (path) => {
    current = path;
    address.value = path;
    if (!route || route.mode === 'none') return;
    open.href = src(path);
    iframe.src = src(path);
  };
  const setHeight = () => {
    const v = model.get('height');
    if (v !== 'auto') iframe.style.height = `${parseInt(v, 10)}px`;
    else if (!iframe.style.height) iframe.style.height = '150px';
  };
  const setViewport = () => {
    const v = model.get('viewport'), w = VIEWPORTS[v];
    iframe.style.width = w ? `${w}px` : '100%';
    sizes.forEach((b) => b.classList.toggle('fhnb-on', b.dataset.viewport === v));
  };
  const setInspector = () => {
    const on = model.get('inspector');
    pane.style.display = on ? '' : 'none';
    inspect.classList.toggle('fhnb-on', on);
    if (on) list.replaceChildren(...(model.get('requests') || []).slice().reverse()
      .map((r) => requestItem(r.response ? r : { ...r, response: (responseFor(r, responses) || {}).text })));
  };
  const setCount = () => { const n = model.get('count'); count.textContent = n ? ` ${n}` : ''; };
  const onRequests = () => { setCount(); setInspector(); };
  const bump = () => {
    if (route && route.mode !== 'none') { scrollY = lastY; iframe.src = src(current); }
  };
  const onPath = () => load(model.get('path'));
  const onMessage = (e) => {
    if (e.source !== iframe.contentWindow || !e.data) return;  // only our own iframe
    const d = e.data;
    if (d.fhnb === 'height' && model.get('height') === 'auto') iframe.style.height = `${Math.max(40, Math.ceil(d.h))}px`;
    else if (d.fhnb === 'response') {
      responses.push(d);
      if (responses.length > 100) responses.shift();
      if (model.get('inspector')) setInspector();
    } else if (d.fhnb === 'loc') {
      if (scrollY && d.y === 0) { iframe.contentWindow.postMessage({ fhnb: 'scroll', y: scrollY }, '*'); scrollY = 0; }
      if (d.path !== current || !model.get('at')) { model.set('at', d.path); model.save_changes(); }  // for the inspector
      current = d.path; lastY = d.y; address.value = d.path;
      if (route) open.href = src(d.path);
    }
  };

  window.addEventListener('message', onMessage);
  reload.onclick = bump;   // like a bump from the kernel: same page, same scroll position
  form.onsubmit = (e) => { e.preventDefault(); model.set('path', address.value || '/'); model.save_changes(); load(address.value || '/'); };
  address.addEventListener('keydown', (e) => e.stopPropagation());  // keep JupyterLab's shortcuts out of the address bar
  sizes.forEach((b) => { b.onclick = () => { model.set('viewport', b.dataset.viewport); model.save_changes(); }; });
  inspect.onclick = () => { model.set('inspector', !model.get('inspector')); model.save_changes(); };
  const changes = { bump, path: onPath, height: setHeight, viewport: setViewport, inspector: setInspector, requests: onRequests, count: setCount };
  for (const [name, f] of Object.entries(changes)) model.on(`change:${name}`, f);
  setHeight(); setViewport(); setInspector(); setCount();
  address.value = current;

  let alive = true;
  const [url, port, mode] = ['url', 'port', 'proxy'].map((k) => model.get(k));
  // On a local JupyterLab the direct URL nearly always works: start loading it while the first probe runs.
  if (lanLocal(mode) && !routes.has(`${url}|${port}|${mode}`)) { route = { mode: 'direct', root: url }; load(current); }
  findRoute(url, port, mode).then((r) => {
    if (!alive) return;
    const same = route && route.root === r.root;
    route = r;
    el.dataset.route = r.mode;
    if (r.mode === 'none') {
      note.textContent = `fhnb: this browser cannot reach the kernel's server (${model.get('url')}) and jupyter-server-proxy does not answer at ${jupyterBase()}proxy/${model.get('port')}/: install jupyter-server-proxy where JupyterLab runs and restart it, or open the port and set proxy = direct in settings.ini.`;
      stage.style.display = 'none';
      iframe.removeAttribute('src');
    } else if (!same) load(current);
  });

  return () => {
    alive = false;
    window.removeEventListener('message', onMessage);
    for (const [name, f] of Object.entries(changes)) model.off(`change:${name}`, f);
  };
}

export default { render };
