// fhnb Preview widget: an iframe of the kernel's server, a toolbar, an error bar and a request inspector.
// The page lives in an iframe, so its CSS and scripts never touch JupyterLab's own UI.
// The page talks to the widget through fhnb/static/frame.js (postMessage: height, location, responses).
// What the widget tells the user outside the iframe (the app's CSS cannot hide it): a request that failed,
// a server that stopped or a kernel that restarted; and, in a notebook reopened without its kernel, the page as it was.

const VIEWPORTS = { phone: 390, tablet: 768, full: null };
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
const WIDGET_STATE = 'application/vnd.jupyter.widget-state+json';
const PREVIEW_ID = 'fhnb.preview.Preview';   // anywidget's `_anywidget_id` of `fhnb.preview.Preview`
// what a saved preview needs to show its snapshot again: the widget's own code and the snapshot, nothing live
const SAVED_KEYS = ['_model_module', '_model_module_version', '_model_name', '_view_module', '_view_module_version', '_view_name',
  '_esm', '_css', '_anywidget_id', 'snapshot'];
const DOWN = {
  restarted: 'The kernel restarted: this preview comes back by itself when the notebook runs its serve_nb cell again.',
  died: 'The kernel died: this preview comes back by itself when the notebook runs its serve_nb cell in a new kernel.',
  stopped: "The kernel's server is not answering: this preview comes back by itself when serve_nb runs again.",
};

/** The page config JupyterLab and Notebook 7 embed ({} elsewhere). */
function pageConfig() {
  const el = document.getElementById('jupyter-config-data');
  try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
}

/** Jupyter's base URL (ends with '/'). */
const jupyterBase = () => pageConfig().baseUrl || document.body.dataset.baseUrl || '/';

// ---------- the widget's code, imported once a page (fhnb/extension.py) ----------
// anywidget imports code given as text anew for each preview; an http(s) address only once a page. Where JupyterLab
// serves this code (fhnb's server extension names it in the page config), the kernel is told, and its later previews
// give the address instead of the text.
const isAddress = (esm) => /^https?:\/\//.test(esm || '');
const codeTexts = (globalThis.__fhnbCodeTexts ??= new Map());   // address -> the code served there, for saved notebooks

/**
 * Tell the kernel where JupyterLab serves this code, once this page has imported it from there (which readies it for the
 * next preview); or that this page cannot (no fhnb extension, or the import failed): then previews keep the text.
 */
function offerCode(model) {
  if (isAddress(model.get('_esm'))) return;
  const served = pageConfig().fhnbWidget, tell = (url) => { try { model.send({ ask: 'code', url }); } catch (e) { /* the kernel is gone */ } };
  if (!served) return tell('');
  const url = new URL(served.url, location.href).href;
  requestIdleCallback(() => import(url).then(() => tell(url), () => tell('')), { timeout: 2000 });
}

/** Saved form `m` with the code itself where its model gave an address (when this page has its text): a notebook is read without that server. */
function withCode(m) {
  const text = isAddress(m.state._esm) && codeTexts.get(m.state._esm);
  return text ? { ...m, state: { ...m.state, _esm: text } } : m;
}

/** Keep the text of the code at the model's address: a notebook is saved with the code itself, not with an address. */
function keepCodeText(model) {
  const url = model.get('_esm');
  if (!isAddress(url) || codeTexts.has(url)) return;
  codeTexts.set(url, null);
  requestIdleCallback(() => fetch(url).then((r) => (r.ok ? r.text() : null)).then((t) => codeTexts.set(url, t), () => codeTexts.delete(url)), { timeout: 2000 });
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
const mayTryDirect = (mode) => mode === 'direct' || (mode === 'auto' && LOOPBACK.has(location.hostname));

// JupyterLab's loopback name -> the other one: a page there is another site (cookies are kept per host name, not per port)
const OTHER_SITE = { localhost: '127.0.0.1', '127.0.0.1': 'localhost', '[::1]': '127.0.0.1' };

/**
 * The direct route to the server at `url`. With `site` 'separate' (the default) the page is served from a loopback name
 * other than JupyterLab's own (`localhost` against `127.0.0.1`, or the reverse): on the same host name its scripts could
 * read JupyterLab's `_xsrf` cookie and send requests that carry the Jupyter login (through jupyter-server-proxy, to any
 * local port). The app's session cookie still lasts: in a kernel, a browser's session cookie is `SameSite=None; Secure;
 * Partitioned` (fhnb.kernel), kept for this app inside JupyterLab's site only. With 'shared', JupyterLab's own host name
 * (the app's cookies as they are, and JupyterLab's readable by its scripts).
 */
function directRoute(url, site) {
  const u = new URL(url), here = location.hostname;
  if (LOOPBACK.has(u.hostname) && site === 'shared' && (here === 'localhost' || here === '127.0.0.1')) u.hostname = here;
  else if (LOOPBACK.has(u.hostname) && site !== 'shared' && OTHER_SITE[here]) u.hostname = OTHER_SITE[here];
  return { mode: 'direct', root: u.origin };
}

/** Whether the server answers at `route` now. @param {{mode: string, root: string}} route */
const healthy = (route) => answers(`${route.root}/_fhnb/health`, route.mode === 'direct' ? { mode: 'no-cors' } : { credentials: 'same-origin' });

// Where the page runs with JupyterLab's credentials, the preview says so (the README states the trade-off)
const SHARED_SITE = {
  proxy: 'fhnb: this page comes through JupyterLab\'s own server (jupyter-server-proxy): its scripts can act with your Jupyter login. Preview only apps you trust here, or use the direct route.',
  shared: 'fhnb: this page is served from JupyterLab\'s own host name (preview_site = shared): its scripts can read JupyterLab\'s cookies. Preview only apps you trust, or set preview_site = separate.',
};

/** Say in the preview when its page shares JupyterLab's site (the proxy route; the direct route on JupyterLab's own host name). */
function sayWhoseSite(v, r) {
  const shared = r.mode === 'direct' && new URL(r.root).hostname === location.hostname && LOOPBACK.has(location.hostname);
  const line = r.mode === 'proxy' ? SHARED_SITE.proxy : shared ? SHARED_SITE.shared : '';
  v.el.dataset.site = line ? 'jupyterlab' : 'own';
  if (line) { v.site ??= v.note.parentNode.insertBefore(h('div', { className: 'fhnb-note fhnb-site' }), v.note); v.site.textContent = line; }
  else if (v.site) v.site.textContent = '';
}

/** How this browser reaches the kernel's server: {mode: 'direct'|'proxy'|'kernel', root} (kernel: over the widget's comm). */
function findRoute(url, port, mode, site) {
  const key = `${url}|${port}|${mode}|${site}`;
  if (routes.has(key)) return routes.get(key);
  const direct = directRoute(url, site), proxy = { mode: 'proxy', root: `${jupyterBase()}proxy/${port}` };
  const found = (async () => {
    if (mode === 'direct') return direct;
    if (mode === 'jupyter-server-proxy') return proxy;
    if (mode === 'kernel') return { mode: 'kernel', root: url };
    if (mayTryDirect(mode) && await healthy(direct)) return direct;
    if (await healthy(proxy)) return proxy;
    return { mode: 'kernel', root: url };
  })();
  routes.set(key, found);
  return found;
}

/** A small element helper. */
function h(tag, props = {}, ...kids) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids.filter((k) => k != null));
  return e;
}

/** The user's frame in a Python traceback ('file.py:LINE in func: code'): the last one outside installed packages. */
function whereOf(tb) {
  const frames = [...(tb || '').matchAll(/File "([^"]+)", line (\d+), in (\S+)\n[ \t]+(\S.*)/g)];
  const mine = frames.filter((m) => !/site-packages|dist-packages|[\\/]lib[\\/]python/.test(m[1])).pop();
  return mine ? `${mine[1].split(/[\\/]/).pop()}:${mine[2]} in ${mine[3]}: ${mine[4].trim()}` : '';
}

/** The server's 500 page as {error, where, traceback}: by the ids fhnb's error page gives them, else its first h2 and pre. */
function errorOf(html) {
  const doc = new DOMParser().parseFromString(html || '', 'text/html');
  const text = (id, tag) => { const e = doc.getElementById(id) || (tag && doc.querySelector(tag)); return e ? e.textContent.trim() : ''; };
  const traceback = text('fhnb-traceback', 'pre');
  return { error: text('fhnb-error', 'h2').replace(/^500:\s*/, ''), where: text('fhnb-where') || whereOf(traceback), traceback };
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

/** The "copy as test" button of log entry `r`, and the cell once the kernel has written it (to copy by hand if the clipboard refused). */
function testPart(v, r) {
  if (r.status == null) return [];   // not answered yet: nothing to assert
  const done = v.tests.get(r.time);
  const label = !done ? 'copy as test' : done.copied ? 'copied as test ✓' : 'copy as test (the clipboard refused: copy the cell below)';
  const btn = h('button', { className: 'fhnb-btn fhnb-copy-test', textContent: label,
    title: 'Copy a notebook cell that sends this request again with HxClient and checks what comes back' });
  btn.onclick = () => { btn.disabled = true; btn.textContent = 'writing the test…'; v.model.send({ ask: 'test', entry: r, response: r.response ?? null }); };
  return [h('div', {}, btn), done ? h('pre', { className: 'fhnb-test' }, done.text) : null];
}

/** The kernel's answer to "copy as test": put the cell on the clipboard, and show it under its request. */
async function onAnswer(v, msg) {
  if (!msg || msg.answer !== 'test') return;
  let copied = true;
  try { await navigator.clipboard.writeText(msg.test); } catch (e) { copied = false; }
  v.tests.set(msg.time, { text: msg.test, copied });
  setInspector(v);
}

function requestItem(v, r) {
  const bad = r.status >= 400 || r.error;
  const sum = h('summary', { className: bad ? 'fhnb-bad' : '' },
    h('b', {}, r.method), ` ${r.path}${r.query ? '?' + r.query : ''} `,
    h('span', { className: 'fhnb-status' }, String(r.status ?? '…')), ` ${Math.round(r.ms ?? 0)} ms`);
  const parts = (r.note || []).map((n) => h('div', { className: 'fhnb-note-line' }, `fhnb ${n}`));  // what fhnb did to the page
  if (r.form && (typeof r.form === 'string' || Object.keys(r.form).length)) {
    const form = typeof r.form === 'string' ? r.form : Object.entries(r.form).map(([k, v]) => `${k} = ${v}`).join('\n');
    parts.push(h('div', {}, 'form'), h('pre', {}, form));
  }
  const tb = r.traceback || (r.status >= 500 && r.response ? errorOf(r.response).traceback || null : null);
  if (r.response && !tb) parts.push(h('div', {}, 'response'), h('pre', {}, r.response));
  if (r.error || tb) parts.push(h('div', {}, 'error'), h('pre', { className: 'fhnb-bad' }, tb || r.error));
  parts.push(...testPart(v, r));
  const item = h('details', { className: 'fhnb-req', open: v.tests.has(r.time) || v.opened.has(r.time) }, sum, ...parts);
  sum.addEventListener('click', () => { if (item.open) v.opened.delete(r.time); else v.opened.add(r.time); });   // kept as the user left it when new requests come
  return item;
}

/** The widget's elements, and the state of the page it shows. */
function buildView(model, el) {
  el.classList.add('fhnb-preview');
  const v = { model, el, route: null, current: model.get('path'), scrollY: 0, lastY: 0, responses: [], tests: new Map(), opened: new Set(), pages: 0, alive: true, polling: false };
  v.reload = h('button', { className: 'fhnb-btn', title: 'Reload', textContent: '⟳' });
  v.address = h('input', { className: 'fhnb-address', spellcheck: false, title: 'Path on the app; Enter to go' });
  v.address.setAttribute('data-lm-suppress-shortcuts', 'true');
  v.form = h('form', { className: 'fhnb-go' }, v.address);
  v.sizes = Object.keys(VIEWPORTS).map((s) => h('button', { className: 'fhnb-btn', textContent: s, title: VIEWPORTS[s] ? `${VIEWPORTS[s]} px wide` : 'full width' }));
  v.sizes.forEach((b) => { b.dataset.viewport = b.textContent; });
  v.count = h('span', { className: 'fhnb-count' });
  v.inspect = h('button', { className: 'fhnb-btn', title: 'Requests of this preview' }, 'requests', v.count);
  v.lint = h('button', { className: 'fhnb-btn fhnb-lint', title: 'htmx mistakes on this page (fhnb.lint)', hidden: true });
  v.lintLines = h('div', { className: 'fhnb-lint-lines', hidden: true });
  v.open = h('a', { className: 'fhnb-btn', target: '_blank', rel: 'noopener', title: 'Open in a new tab', textContent: '↗' });
  v.routeName = h('span', { className: 'fhnb-route', title: 'How this browser reaches the kernel\'s server' });
  v.note = h('div', { className: 'fhnb-note' });
  v.error = errorBar();
  v.iframe = h('iframe', { className: 'fhnb-frame', name: `fhnb-${model.get('key')}` });
  v.down = h('div', { className: 'fhnb-down', hidden: true });
  v.stage = h('div', { className: 'fhnb-stage' }, v.iframe, v.down);
  v.list = h('div', { className: 'fhnb-list' });
  v.pane = h('div', { className: 'fhnb-inspector' }, v.list);
  el.append(h('div', { className: 'fhnb-bar' }, v.reload, v.form, ...v.sizes, v.lint, v.inspect, v.routeName, v.open), v.lintLines, v.note, v.error.bar, v.stage, v.pane);
  return v;
}

/** The error bar: the exception, the user's frame, a button for the full traceback, a button to dismiss. */
function errorBar() {
  const text = h('span', { className: 'fhnb-error-text' }), where = h('code', { className: 'fhnb-error-where' });
  const more = h('button', { className: 'fhnb-btn', title: 'Full traceback', textContent: 'traceback' });
  const close = h('button', { className: 'fhnb-btn', title: 'Dismiss', textContent: '×' });
  const tb = h('pre', { className: 'fhnb-error-tb', hidden: true });
  const bar = h('div', { className: 'fhnb-error', role: 'alert', hidden: true }, h('div', { className: 'fhnb-error-line' }, text, where, more, close), tb);
  more.onclick = () => { tb.hidden = !tb.hidden; };
  close.onclick = () => { bar.hidden = true; };
  return { bar, text, where, more, tb };
}

/** Show failure `e` ({error, where, traceback, path}) in the error bar. */
function showError(v, e) {
  const { bar, text, where, more, tb } = v.error;
  text.textContent = e.error || 'The request failed';
  where.textContent = e.where || whereOf(e.traceback);
  tb.textContent = e.traceback || '';
  more.hidden = !e.traceback;
  tb.hidden = true;
  bar.hidden = false;
}

const clearError = (v) => { v.error.bar.hidden = true; };

const src = (v, path) => v.route.root + (path.startsWith('/') ? path : '/' + path);

function load(v, path) {
  v.current = path;
  v.live = false;
  v.address.value = path;
  if (!v.route) return;
  if (v.route.mode === 'kernel') return loadOverKernel(v, { method: 'GET', url: path, headers: [], body: null });
  v.open.href = src(v, path);
  v.iframe.src = src(v, path);
}

/** Reload the page in place: same page, same scroll position (a bump from the kernel, or the reload button). */
function reloadPage(v) {
  if (!v.route) return;
  v.scrollY = v.lastY;
  v.live = false;
  clearError(v);
  if (v.route.mode === 'kernel') loadOverKernel(v, { method: 'GET', url: v.current, headers: [], body: null });
  else v.iframe.src = src(v, v.current);
}

/** A cell changed a route or data: the page morphs itself into its new version (frame.js), or, if it cannot, reloads in full. */
function refreshPage(v) {
  if (!v.route || v.route.mode === 'none') return;
  if (!v.live) return onRefreshed(v, { how: 'reload', why: 'the page had not finished loading' });
  clearTimeout(v.refreshTimer);
  v.refreshTimer = setTimeout(() => onRefreshed(v, { how: 'reload', why: 'the page did not answer' }), 2000);
  v.iframe.contentWindow.postMessage({ fhnb: 'refresh' }, '*');
}

/** What the page said of a refresh (`{how: 'morph'|'reload', why, ms}`): a page that could not morph reloads; the inspector says which. */
function onRefreshed(v, d) {
  clearTimeout(v.refreshTimer);
  if (d.how === 'morph') clearError(v); else reloadPage(v);
  v.el.dataset.refresh = d.how;
  v.refreshed ??= v.pane.insertBefore(h('div', { className: 'fhnb-refreshed' }), v.list);   // the inspector's first line
  const again = (d.replayed || []).length ? `; sent again: ${d.replayed.join(', ')}` : '';
  const not = (d.skipped || []).length ? `; not sent again: ${d.skipped.join(', ')} (${d.why})` : '';
  v.refreshed.textContent = d.how === 'morph' ? `last refresh: morphed in place in ${d.ms} ms (typed input, focus, scroll and open details kept)${again}${not}`
    : `last refresh: reloaded in full: ${d.why}`;
  v.el.dataset.replayed = String((d.replayed || []).length);
}

function setHeight(v) {
  const px = v.model.get('height');
  if (px !== 'auto') v.iframe.style.height = `${parseInt(px, 10)}px`;
  else if (!v.iframe.style.height) v.iframe.style.height = '150px';
}

function setViewport(v) {
  const size = v.model.get('viewport'), w = VIEWPORTS[size];
  v.iframe.style.width = w ? `${w}px` : '100%';
  v.sizes.forEach((b) => b.classList.toggle('fhnb-on', b.dataset.viewport === size));
}

function setInspector(v) {
  const on = v.model.get('inspector');
  v.pane.style.display = on ? '' : 'none';
  v.inspect.classList.toggle('fhnb-on', on);
  if (on) v.list.replaceChildren(...(v.model.get('requests') || []).slice().reverse()
    .map((r) => requestItem(v, r.response ? r : { ...r, response: (responseFor(r, v.responses) || {}).text })));
}

/** The toolbar's "⚠ N htmx" badge, and the lines it opens: the kernel's `lint` of the page, one line per mistake. */
function setLint(v) {
  const lines = v.model.get('lint') || [];
  v.lint.hidden = !lines.length;
  v.lint.textContent = `⚠ ${lines.length} htmx`;
  v.lintLines.replaceChildren(...lines.map((l) => h('div', { className: 'fhnb-lint-line' }, l)));
  if (!lines.length) v.lintLines.hidden = true;
}

function setCount(v) { const n = v.model.get('count'); v.count.textContent = n ? ` ${n}` : ''; }

/** A page load the server logged as failed (the kernel sets `failure`; HTMX failures come from frame.js). */
function onFailure(v) {
  const f = v.model.get('failure');
  if (f && f.error) showError(v, f); else clearError(v);
}

/** What frame.js in our own iframe says: its height, where it is, what came back to its HTMX requests. */
function onFrameMessage(v, e) {
  if (e.source !== v.iframe.contentWindow || !e.data) return;  // only our own iframe
  const d = e.data;
  if (d.fhnb === 'height' && v.model.get('height') === 'auto') v.iframe.style.height = `${Math.max(40, Math.ceil(d.h))}px`;
  else if (d.fhnb === 'response') onResponse(v, d);
  else if (d.fhnb === 'refreshed') onRefreshed(v, d);
  else if (d.fhnb === 'unreachable') checkServer(v);
  else if (d.fhnb === 'loc') onLocation(v, d);
  else if (v.route && v.route.mode === 'kernel') onBridgeMessage(v, d);
}

function onResponse(v, d) {
  v.responses.push(d);
  if (v.responses.length > 100) v.responses.shift();
  if (d.status >= 500) showError(v, { ...errorOf(d.text), path: d.path });
  else if (d.status < 400) clearError(v);
  if (v.model.get('inspector')) setInspector(v);
}

function onLocation(v, d) {
  const { model, iframe } = v;
  if (d.fresh) { v.pages++; v.live = true; clearError(v); }   // a page of the app loaded: it can morph from now on
  if (v.scrollY && d.y === 0) { iframe.contentWindow.postMessage({ fhnb: 'scroll', y: v.scrollY }, '*'); v.scrollY = 0; }
  if (d.path !== model.get('location')) { model.set('location', d.path); model.save_changes(); }  // for the inspector, the snapshot and the lint
  v.current = d.path; v.lastY = d.y; v.address.value = d.path;
  if (v.route && v.route.mode !== 'kernel') v.open.href = src(v, d.path);
}

/** After each load of the iframe: a page without frame.js is an error page; if the server is gone too, say so. */
function onFrameLoad(v) {
  const before = v.pages;
  setTimeout(() => { if (v.pages === before) checkServer(v); }, 300);  // frame.js reports before 'load'; allow for a late message
}

/** Whether the server answers this preview now, by its route. */
const reachable = (v) => (v.route.mode === 'kernel' ? kernelAnswers(v) : healthy(v.route));

async function checkServer(v) {
  if (!v.alive || v.polling || !v.route) return;
  if (!(await reachable(v))) goDown(v, 'stopped');
}

// On the kernel route the preview reaches the app through its widget's connection to the kernel: a new kernel means
// a new widget, so this one cannot come back by itself.
const KERNEL_ROUTE_GONE = {
  restarted: 'The kernel restarted: this preview reached the app through its widget, over the old kernel\'s connection (kernel route); run its cell again after the serve_nb cell.',
  died: 'The kernel died: this preview reached the app through its widget, over that kernel\'s connection (kernel route); run its cell again in a new kernel after the serve_nb cell.',
};
const connectionGone = (v, why) => !!(v.route && v.route.mode === 'kernel' && KERNEL_ROUTE_GONE[why]);

/** Cover the stale page with a notice, and wait for the server to answer again. @param {'restarted'|'died'|'stopped'} why */
function goDown(v, why) {
  if (!(v.el.dataset.server === 'down' && v.down.dataset.why !== 'stopped')) {   // what the kernel said is the better explanation
    v.down.dataset.why = why;
    v.down.textContent = connectionGone(v, why) ? KERNEL_ROUTE_GONE[why] : DOWN[why];
  }
  // The old kernel's server may answer for a moment while that kernel shuts down: a new server is one seen after a failure.
  v.goneSeen = why === 'stopped';
  v.downAt = Date.now();
  v.el.dataset.server = 'down';
  v.down.hidden = false;
  clearError(v);
  if (!v.polling && !connectionGone(v, why)) waitForServer(v);
}

/** Whether the server answering now is one to reload from: not the old kernel's, still shutting down (after 8 s: any). */
async function serverIsBack(v) {
  if (!v.route || !(await reachable(v))) { v.goneSeen = true; return false; }
  return v.goneSeen || Date.now() - v.downAt > 8000;
}

/** Poll the server's health with back-off (0.5 s doubling to 5 s); reload the page once it is back. */
async function waitForServer(v) {
  v.polling = true;
  for (let ms = 500; v.alive; ms = Math.min(ms * 2, 5000)) {
    await new Promise((ok) => setTimeout(ok, ms));
    if (v.alive && await serverIsBack(v)) {
      v.el.dataset.server = 'up';
      v.down.hidden = true;
      load(v, v.current);
      break;
    }
  }
  v.polling = false;
}

/** Find how to reach the server, then load the page (or say in one line why it cannot be reached). */
function connect(v) {
  const { model } = v;
  const [url, port, mode, site] = ['url', 'port', 'proxy', 'site'].map((k) => model.get(k));
  // On a local JupyterLab the direct URL nearly always works: start loading it while the first probe runs.
  if (mayTryDirect(mode) && !routes.has(`${url}|${port}|${mode}|${site}`)) { v.route = directRoute(url, site); load(v, v.current); }
  findRoute(url, port, mode, site).then((r) => {
    if (!v.alive) return;
    const same = v.route && v.route.root === r.root;
    v.route = r;
    v.el.dataset.route = r.mode;
    v.routeName.textContent = r.mode;
    v.open.hidden = r.mode === 'kernel';   // a new tab cannot use the widget's comm
    sayWhoseSite(v, r);
    if (!same || r.mode === 'kernel') load(v, v.current);
  });
}

/** The model ids of the widget views among the notebook's outputs. */
function shownModelIds(nb) {
  const ids = new Set();
  for (const cell of nb.cells) for (const o of (cell.outputs ? cell.outputs.toJSON() : [])) {
    const view = o.data && o.data[WIDGET_VIEW];
    if (view && view.model_id) ids.add(view.model_id);
  }
  return ids;
}

// model id -> what a saved notebook needs to show that preview again; kept after its kernel is gone (its model is then
// left out of ipywidgets' own state), shared by every copy of this module
const savedPreviews = (globalThis.__fhnbSavedPreviews ??= new Map());
const isPreview = (m) => !!(m.state && m.state._anywidget_id === PREVIEW_ID);

/** Remember the saved form of each live preview of `manager`, by model id: the widget's own code and the snapshot. */
function rememberSnapshots(manager) {
  for (const [id, m] of Object.entries(manager.get_state_sync({ drop_defaults: true }).state || {})) {
    if (!isPreview(m)) continue;
    const kept = Object.fromEntries(SAVED_KEYS.filter((k) => k in m.state).map((k) => [k, m.state[k]]));
    savedPreviews.set(id, { ...m, state: { ...kept, fhnb_saved: true } });
  }
}

const remembering = (globalThis.__fhnbRemembering ??= new WeakSet());   // managers with a `rememberSnapshots` to come

/** `rememberSnapshots` once the page is idle: it reads every widget's state, which is no work for while a preview shows. */
function rememberLater(manager) {
  if (!manager || !manager.get_state_sync || remembering.has(manager)) return;
  remembering.add(manager);
  requestIdleCallback(() => { remembering.delete(manager); rememberSnapshots(manager); }, { timeout: 2000 });
}

/** Into the notebook's widget state: each shown preview's saved form (ipywidgets' own entries are left as they are). */
function saveSnapshots(nb) {
  const shown = shownModelIds(nb);
  const old = (nb.getMetadata('widgets') || {})[WIDGET_STATE] || { version_major: 2, version_minor: 0, state: {} };
  const state = {};
  for (const [id, m] of Object.entries(old.state || {})) if (!isPreview(m) || shown.has(id)) state[id] = m;
  for (const id of shown) if (savedPreviews.has(id)) state[id] = withCode(savedPreviews.get(id));
  if (Object.keys(state).length) nb.setMetadata('widgets', { [WIDGET_STATE]: { ...old, state } });
  else if (nb.getMetadata('widgets') && nb.deleteMetadata) nb.deleteMetadata('widgets');   // nothing left to restore
}

/**
 * Save previews' snapshots with the notebook, so that reopened without its kernel it shows each preview's page as it
 * was instead of "model not found": ipywidgets restores models from this state. A hook per widget manager (a notebook
 * gets a new one with a new kernel), on every save.
 */
function keepSnapshots(model) {
  const manager = model.widget_manager, ctx = manager && manager.context;
  if (!ctx || !ctx.saveState || !ctx.model || !ctx.model.setMetadata || !manager.get_state_sync) return;  // not a notebook in JupyterLab
  rememberLater(manager);
  const hooked = (globalThis.__fhnbSaveHooks ??= new WeakSet());
  if (hooked.has(manager)) return;
  hooked.add(manager);
  const onSave = (_, state) => {
    if (manager.isDisposed) return ctx.saveState.disconnect(onSave);
    if (state !== 'started') return;
    try { rememberSnapshots(manager); saveSnapshots(ctx.model); } catch (e) { console.warn('fhnb: could not save the previews\' snapshots', e); }
  };
  ctx.saveState.connect(onSave);
}

/** A preview restored from a saved notebook: its inert snapshot (no kernel, no server), in a shadow root for its own styles. */
function renderSnapshot({ model, el }) {
  el.classList.add('fhnb-preview', 'fhnb-saved');
  const box = h('div', { className: 'fhnb-snapshot-box' });
  box.attachShadow({ mode: 'open' }).innerHTML = model.get('snapshot') || '<p><small>snapshot: run the cell for a live preview</small></p>';
  el.append(box);
}

/** The toolbar's buttons and address bar set the model (the kernel sees them) and act at once. */
function wireToolbar(v) {
  const { model } = v;
  v.reload.onclick = () => reloadPage(v);
  v.form.onsubmit = (e) => {
    e.preventDefault();
    model.set('path', v.address.value || '/'); model.save_changes();
    load(v, v.address.value || '/');
  };
  v.address.addEventListener('keydown', (e) => e.stopPropagation());  // keep JupyterLab's shortcuts out of the address bar
  v.sizes.forEach((b) => { b.onclick = () => { model.set('viewport', b.dataset.viewport); model.save_changes(); }; });
  v.lint.onclick = () => { v.lintLines.hidden = !v.lintLines.hidden; };
  v.inspect.onclick = () => { model.set('inspector', !model.get('inspector')); model.save_changes(); };
}

/** Follow the model's changes (and its kernel's restart); returns what stops following. */
function followModel(v) {
  const { model } = v;
  const changes = {
    bump: () => refreshPage(v), path: () => load(v, model.get('path')), height: () => setHeight(v), viewport: () => setViewport(v),
    inspector: () => setInspector(v), requests: () => { setCount(v); setInspector(v); }, count: () => setCount(v), failure: () => onFailure(v),
    snapshot: () => rememberLater(model.widget_manager), lint: () => setLint(v),
  };
  for (const [name, f] of Object.entries(changes)) model.on(`change:${name}`, f);
  const answer = (msg) => onAnswer(v, msg);
  model.on('msg:custom', answer);
  // ipywidgets marks a model's comm dead when its kernel restarts: the server was in that kernel
  const restarted = () => goDown(v, 'restarted');
  model.on('comm_live_update', restarted);
  const unfollowKernel = followKernel(v);
  return () => {
    for (const [name, f] of Object.entries(changes)) model.off(`change:${name}`, f);
    model.off('msg:custom', answer);
    model.off('comm_live_update', restarted);
    unfollowKernel();
  };
}

/** A kernel that died (ipywidgets says nothing then): the server died with it. Returns what stops following. */
function followKernel(v) {
  const kernel = v.model.widget_manager && v.model.widget_manager.kernel;
  if (!kernel || !kernel.statusChanged) return () => {};
  const onStatus = (_, status) => { if (status === 'autorestarting' || status === 'dead') goDown(v, 'died'); };
  kernel.statusChanged.connect(onStatus);
  return () => kernel.statusChanged.disconnect(onStatus);
}

// ---------- the kernel route: the page's requests over the widget's comm (fhnb/bridge.py, fhnb/static/bridge.js) ----------
// The page is a srcdoc document in a sandboxed iframe: it runs scripts and submits forms, but has an origin of its own
// and cannot touch the notebook. bridge.js, its first script, posts its requests here; they go to the kernel as
// {ask: 'http'} messages with the body as a buffer, and the answers come back the same way.

const SANDBOX = 'allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';
const WAIT_NOTE_MS = 300;   // a request waiting longer than this: say the kernel is busy
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ASSETS = [['script[src]', 'src'], ['link[rel~="stylesheet"][href]', 'href'], ['link[rel~="icon"][href]', 'href'],
  ['link[rel="modulepreload"][href]', 'href'], ['img[src]', 'src'], ['source[src]', 'src'], ['video[poster]', 'poster']];
const FIXED = '/_fhnb/static/';   // fhnb's own files (the vendored htmx, Pico, bridge.js): the same for the whole session
const fixedFiles = (globalThis.__fhnbFixedFiles ??= new Map());   // server url + path -> Promise of {text, dataUrl}
const cookieJars = (globalThis.__fhnbCookies ??= new Map());      // server url -> Map(name -> value): the app's session, for its pages

const headerOf = (headers, name) => (headers.find(([k]) => k.toLowerCase() === name) || [])[1];
const bufferOf = (b) => (!b ? new ArrayBuffer(0) : b instanceof ArrayBuffer ? b : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** The app's cookies for this preview's server: sent with each request, kept from each answer's Set-Cookie. */
function jar(v) {
  const url = v.model.get('url');
  if (!cookieJars.has(url)) cookieJars.set(url, new Map());
  return cookieJars.get(url);
}

function keepCookies(v, headers) {
  for (const [k, line] of headers) {
    if (k.toLowerCase() !== 'set-cookie') continue;
    const [pair, ...attrs] = line.split(';'), at = pair.indexOf('=');
    const name = pair.slice(0, at).trim(), gone = attrs.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a));
    if (gone) jar(v).delete(name); else jar(v).set(name, pair.slice(at + 1).trim());
  }
}

/** Send request `req` ({method, url: path, headers, body}) to the kernel; resolves to its answer {status, headers, body}. */
function ask(v, req) {
  const id = `${v.viewId}:${++v.asked}`, cookies = [...jar(v)].map(([k, x]) => `${k}=${x}`).join('; ');
  const sent = Array.isArray(req.headers) ? req.headers : [req.headers];   // a page's script may post anything: the kernel judges it
  const headers = sent.filter((x) => !(Array.isArray(x) && String(x[0]).toLowerCase() === 'cookie')).concat(cookies ? [['cookie', cookies]] : []);
  const t0 = performance.now(), busy = setTimeout(() => showWait(v, true), WAIT_NOTE_MS);
  return new Promise((ok) => {
    v.asking.set(id, (a) => {
      clearTimeout(busy);
      const waited = performance.now() - t0;
      if (waited > WAIT_NOTE_MS) v.el.dataset.waitedMs = String(Math.round(waited));   // the last long wait, for whoever measures it
      if (!v.asking.size) showWait(v, false);
      keepCookies(v, a.headers);
      ok(a);
    });
    try { v.model.send({ ask: 'http', id, method: req.method, url: req.url, headers }, undefined, req.body ? [req.body.slice(0)] : []); }
    catch (e) {   // the comm is gone (the kernel restarted): no answer will come
      const done = v.asking.get(id);
      v.asking.delete(id);
      done({ status: 0, headers: [], body: new ArrayBuffer(0), error: String(e) });
    }
  });
}

/** The kernel's answers to this view's requests. Returns what stops listening. */
function followBridge(v) {
  v.viewId = Math.random().toString(36).slice(2, 8); v.asked = 0; v.asking = new Map(); v.loads = 0;
  const onMsg = (msg, buffers) => {
    if (!msg || msg.answer !== 'http' || !v.asking.has(msg.id)) return;
    const done = v.asking.get(msg.id);
    v.asking.delete(msg.id);
    done({ status: msg.status, headers: msg.headers || [], body: bufferOf(buffers && buffers[0]) });
  };
  v.model.on('msg:custom', onMsg);
  return () => v.model.off('msg:custom', onMsg);
}

/** `req` sent over the comm, its redirects followed as a browser would; resolves to the final answer and its `url` (path). */
async function carry(v, req) {
  for (let hops = 0; ; hops++) {
    const a = await ask(v, req), loc = headerOf(a.headers, 'location');
    if (!REDIRECTS.has(a.status) || !loc || hops === 20) return { ...a, url: req.url };
    const to = new URL(loc, v.route.root + req.url);
    if (to.origin !== new URL(v.route.root).origin) return { ...a, url: req.url };   // off the app: leave it to the page
    const keep = a.status === 307 || a.status === 308;
    req = keep ? { ...req, url: to.pathname + to.search }
      : { method: req.method === 'HEAD' ? 'HEAD' : 'GET', url: to.pathname + to.search, headers: req.headers.filter(([k]) => !/^content-/i.test(k)), body: null };
  }
}

/**
 * While a request waits, say so. A busy kernel answers widget messages after the running cell, unless the front end
 * sends them to a subshell of their own (JupyterLab 4.4+ with ipykernel 7+ does: then they are answered at once).
 */
function showWait(v, on) {
  if (!v.wait) { v.wait = h('div', { className: 'fhnb-note fhnb-wait' }); v.note.after(v.wait); }
  const kernel = v.model.widget_manager && v.model.widget_manager.kernel, busy = kernel && kernel.status === 'busy';
  v.el.dataset.waiting = on ? 'true' : 'false';
  v.wait.textContent = !on ? '' : busy ? 'fhnb: waiting for the kernel: it answers this page\'s requests (kernel route) when the running cell ends.'
    : 'fhnb: waiting for the app\'s answer over the kernel route…';
}

/** The page asks: a request (answered to the page), a page to load, or a note that it opened a socket this route cannot carry. */
async function onBridgeMessage(v, d) {
  if (d.fhnb === 'navigate') return loadOverKernel(v, d);
  if (d.fhnb === 'unbridged') {
    const what = d.what === 'WebSocket' ? 'a WebSocket' : 'an EventSource (server-sent events)';
    v.note.textContent = `fhnb: this page opens ${what}: the kernel route carries HTTP requests only; WebSockets and server-sent events need the direct route or jupyter-server-proxy (settings.ini proxy).`;
    return;
  }
  if (d.fhnb !== 'bridge') return;
  const a = await carry(v, d);
  if (v.iframe.contentWindow) v.iframe.contentWindow.postMessage({ fhnb: 'bridged', id: d.id, ...a }, '*', [a.body]);
}

/** Load the answer to `req` as the page: fetched over the comm, its assets inlined, shown as the sandboxed iframe's srcdoc. */
async function loadOverKernel(v, req) {
  const n = ++v.loads;
  const a = await carry(v, req);
  const page = await pageOf(v, a);
  if (n !== v.loads || !v.alive) return;   // a newer load began meanwhile
  v.current = a.url; v.address.value = a.url;
  if (v.iframe.hasAttribute('src')) freshFrame(v);
  v.iframe.setAttribute('sandbox', SANDBOX);
  v.iframe.removeAttribute('src');
  v.iframe.srcdoc = page;
}

/**
 * A new iframe in place of `v.iframe`. One that loaded a URL first (the direct route tried on the other loopback name: a
 * frame of another site, in another process) did not always show a srcdoc page set after it in Chromium (it stayed at
 * about:blank), so the kernel route starts from a fresh one.
 */
function freshFrame(v) {
  const f = h('iframe', { className: v.iframe.className, name: v.iframe.name });
  f.style.cssText = v.iframe.style.cssText;
  f.addEventListener('load', () => onFrameLoad(v));
  v.iframe.replaceWith(f);
  v.iframe = f;
}

/** The page of answer `a`, ready for srcdoc: bridge.js first, a <base> naming the server, the app's assets inlined. */
async function pageOf(v, a) {
  const text = new TextDecoder().decode(a.body), type = headerOf(a.headers, 'content-type') || '';
  const doc = new DOMParser().parseFromString(type.includes('html') ? text : '<pre></pre>', 'text/html');
  if (!type.includes('html')) doc.querySelector('pre').textContent = text;   // an answer that is not a page: shown as text
  const base = new URL(a.url, v.route.root), bridge = doc.createElement('script');
  bridge.textContent = (await fileOf(v, FIXED + 'bridge.js')).text;
  doc.head.prepend(Object.assign(doc.createElement('base'), { href: base.href }), bridge);
  const found = ASSETS.flatMap(([sel, attr]) => [...doc.querySelectorAll(sel)].map((el) => [el, attr]));
  await Promise.all(found.map(async ([el, attr]) => {
    const u = new URL(el.getAttribute(attr), base);
    if (u.origin === base.origin) inline(el, attr, await fileOf(v, u.pathname + u.search));
  }));
  return '<!doctype html>\n' + doc.documentElement.outerHTML;
}

/** Put file `f` in place of element `el`'s `attr` URL: a classic script's text in the page (no base64 to decode), else a data: URL. */
function inline(el, attr, f) {
  const classic = el.tagName === 'SCRIPT' && !el.async && !el.defer && (!el.type || /javascript/i.test(el.type));
  if (!classic) return el.setAttribute(attr, f.dataUrl);
  el.removeAttribute('src');
  el.textContent = f.text.replace(/<\/(script)/gi, '<\\/$1');   // "</script" would end the element early; "<\/script" means the same in JS
}

/** The file at `path` of the server: {text, dataUrl} (fhnb's own files fetched once a session). */
function fileOf(v, path) {
  const key = v.model.get('url') + path;
  if (fixedFiles.has(key)) return fixedFiles.get(key);
  const got = carry(v, { method: 'GET', url: path, headers: [], body: null }).then(async (a) => ({
    text: new TextDecoder().decode(a.body), dataUrl: await dataUrl(a.body, headerOf(a.headers, 'content-type')) }));
  if (path.startsWith(FIXED)) fixedFiles.set(key, got);
  return got;
}

function dataUrl(buf, type) {
  return new Promise((ok) => {
    const r = new FileReader();
    r.onload = () => ok(r.result);
    r.readAsDataURL(new Blob([buf], { type: type || 'application/octet-stream' }));
  });
}

/** Whether the kernel's server answers over the comm within 1.5 s (a busy kernel counts as answering: it will, after the cell). */
async function kernelAnswers(v) {
  const kernel = v.model.widget_manager && v.model.widget_manager.kernel;
  if (kernel && kernel.status === 'busy') return true;
  const late = new Promise((ok) => setTimeout(() => ok(null), 1500));
  const a = await Promise.race([ask(v, { method: 'GET', url: '/_fhnb/health', headers: [], body: null }), late]);
  return !!a && a.status === 200;
}

function render({ model, el }) {
  if (model.get('fhnb_saved')) return renderSnapshot({ model, el });
  const v = buildView(model, el);
  const onMessage = (e) => onFrameMessage(v, e);
  window.addEventListener('message', onMessage);
  v.iframe.addEventListener('load', () => onFrameLoad(v));
  wireToolbar(v);
  const unfollow = followModel(v), unbridge = followBridge(v);
  setHeight(v); setViewport(v); setInspector(v); setCount(v); setLint(v);
  v.address.value = v.current;
  connect(v);
  keepSnapshots(model);
  offerCode(model);
  keepCodeText(model);
  return () => {
    v.alive = false;
    window.removeEventListener('message', onMessage);
    unfollow();
    unbridge();
  };
}

export default { render };
