// fhnb frame script: served into every page of the kernel's server (NbServer.head_snippets).
// Inside a preview iframe it tells the widget the page's height and location, restores the
// scroll position the widget asks for, and, when the page comes through jupyter-server-proxy
// ({base}proxy/{port}/...), keeps root-relative URLs (hx-post="/add", href="/x", WebSockets, SSE) under that prefix.
// It reports what came back to HTMX requests (the widget shows a failed one in its error bar), and requests that got no answer.
(() => {
  if (window.parent === window || window.__fhnbFrame) return;  // a page opened in its own tab: nothing to do
  window.__fhnbFrame = true;
  const m = location.pathname.match(/^(.*?\/proxy\/\d+)(?=\/|$)/);
  const prefix = m ? m[1] : '';
  const post = (msg) => window.parent.postMessage(msg, '*');  // height and path only: nothing secret

  /** Prefix a root-relative URL with the proxy path, once. @param {string} u */
  const fix = (u) => (prefix && typeof u === 'string' && u.startsWith('/') && !u.startsWith('//')
                      && u !== prefix && !u.startsWith(prefix + '/')) ? prefix + u : u;
  const ATTRS = [['[href]', 'href'], ['[src]', 'src'], ['form[action]', 'action']];
  const fixAttrs = (root) => {
    if (!prefix || !root.querySelectorAll) return;
    for (const [sel, a] of ATTRS) for (const el of root.querySelectorAll(sel)) {
      const v = el.getAttribute(a), f = fix(v);
      if (f !== v) el.setAttribute(a, f);
    }
  };

  // htmx's ws and sse extensions (2 and 4) open `ws-connect="/chat"`, `hx-ws-connect`, `sse-connect` themselves, with
  // `new WebSocket`/`new EventSource` on this page's host: under the proxy those sockets need the prefix too.
  // (htmx 4's sse goes through htmx's own request, fixed below.) Wrapping the constructors covers every extension and version.
  /** The same-host URL `u` (http(s) or ws(s), absolute or not) under the proxy prefix. @param {string|URL} u */
  const fixSocketUrl = (u) => {
    const url = new URL(String(u), location.href);
    if (url.host !== location.host || fix(url.pathname) === url.pathname) return u;
    url.pathname = fix(url.pathname);
    return url.href;
  };
  if (prefix) for (const name of ['WebSocket', 'EventSource']) {
    const Native = window[name];
    if (Native) window[name] = class extends Native { constructor(url, opts) { super(fixSocketUrl(url), opts); } };
  }

  const key = () => window.name.replace(/^fhnb-/, '');  // the widget names its iframe; the server logs HX-* headers
  document.addEventListener('htmx:configRequest', (e) => {   // htmx 2
    e.detail.path = fix(e.detail.path);
    if (window.name) e.detail.headers['HX-Fhnb-Preview'] = key();
  });
  // htmx 4 names its events htmx:phase:action, with a `ctx`; fasthtml sets its metaCharacter to '-' (htmx-after-request)
  const on4 = (phase, action, f) => { for (const c of [':', '-']) document.addEventListener(`htmx${c}${phase}${c}${action}`, f); };
  // jupyter-server-proxy streams a response only when the request's Accept is exactly text/event-stream (it buffers
  // the rest to the end, which an endless stream never reaches); htmx 4's sse asks for "text/html, text/event-stream".
  const sseSource = (el) => !!(el && el.getAttributeNames && el.getAttributeNames().some((n) => /sse[:-]connect$/.test(n)));
  on4('config', 'request', (e) => {
    const c = e.detail.ctx, r = c.request;
    r.action = fix(r.action);
    if (prefix && sseSource(c.sourceElement)) r.headers.Accept = 'text/event-stream';
    if (window.name) r.headers['HX-Fhnb-Preview'] = key();
  });

  let lastH = 0;
  const height = () => {
    const b = document.body;
    if (!b) return 0;
    const r = b.getBoundingClientRect(), cs = getComputedStyle(b);
    return Math.ceil(r.bottom + window.scrollY + parseFloat(cs.marginBottom || 0));
  };
  const sendHeight = () => { const h = height(); if (h && h !== lastH) { lastH = h; post({ fhnb: 'height', h }); } };
  // on the kernel route the page is an about:srcdoc document whose <base> names the server (fhnb/static/bridge.js)
  const here = () => (location.protocol === 'about:' ? new URL(document.baseURI) : location);
  const path = () => (prefix ? location.pathname.slice(prefix.length) || '/' : here().pathname) + here().search;
  const sendLoc = (fresh = false) => post({ fhnb: 'loc', path: path(), y: window.scrollY, fresh });  // fresh: this page just loaded

  let ticking = false;
  window.addEventListener('scroll', () => {
    if (ticking) return;
    ticking = true;
    setTimeout(() => { ticking = false; sendLoc(); }, 50);  // not rAF: Chrome pauses it in off-screen frames
  });
  // The widget asks for the scroll position the page had before it reloaded it. The browser's own restoring
  // would fight that, so it is off; the position is applied at once and again once the page has loaded.
  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
  let wantY = null;
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || !e.data || e.data.fhnb !== 'scroll') return;
    wantY = e.data.y || 0;
    window.scrollTo(0, wantY);
    if (document.readyState === 'complete') wantY = null;
  });
  window.addEventListener('load', () => { if (wantY !== null) { window.scrollTo(0, wantY); wantY = null; } });

  const start = () => {
    fixAttrs(document);
    sendLoc(true); sendHeight();
    new ResizeObserver(sendHeight).observe(document.body);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
  window.addEventListener('load', sendHeight);
  // The server's log has no response bodies: tell the widget what came back, for its request inspector and error bar.
  const report = (method, url, status, text) => {
    let p = new URL(url || '', document.baseURI).pathname;
    if (prefix && p.startsWith(prefix + '/')) p = p.slice(prefix.length);
    post({ fhnb: 'response', method: (method || '').toUpperCase(), path: p, status, text: (text || '').slice(0, status >= 500 ? 50000 : 4000), t: Date.now() });  // error pages end with the exception
  };
  document.addEventListener('htmx:afterRequest', (e) => {    // htmx 2
    const d = e.detail, x = d.xhr, c = d.requestConfig || {};
    if (x && x.status) report(c.verb, c.path, x.status, x.responseText);
  });
  on4('after', 'request', (e) => {
    const c = e.detail.ctx;
    if (c && c.response) report(c.request.method, c.request.action, c.response.status, c.text);
  });
  // no answer at all: the server may be gone
  document.addEventListener('htmx:sendError', () => post({ fhnb: 'unreachable' }));
  for (const name of ['htmx:error', 'htmx-error']) document.addEventListener(name, (e) => { if (!(e.detail.ctx && e.detail.ctx.response)) post({ fhnb: 'unreachable' }); });
  document.addEventListener('htmx:afterSwap', () => fixAttrs(document));  // outerHTML swaps replace the target
  on4('after', 'swap', () => fixAttrs(document));
  document.addEventListener('htmx:afterSettle', sendHeight);
  on4('after', 'settle', sendHeight);
  document.addEventListener('htmx:pushedIntoHistory', () => sendLoc());
})();
