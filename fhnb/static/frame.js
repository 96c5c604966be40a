// fhnb frame script: served into every page of the kernel's server (NbServer.head_snippets).
// Inside a preview iframe it tells the widget the page's height and location, restores the
// scroll position the widget asks for, and, when the page comes through jupyter-server-proxy
// ({base}proxy/{port}/...), keeps root-relative URLs (hx-post="/add", href="/x", WebSockets, SSE) under that prefix.
// It reports what came back to HTMX requests (the widget shows a failed one in its error bar), and requests that got no answer.
// When the widget asks it to refresh, it fetches the page again and morphs the live document into it (idiomorph), then
// sends again, in order, the HTMX GETs that had built the page since it loaded (never a POST, PUT, PATCH or DELETE).
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

  const servedHead = headSignature(document);   // now, at the end of <head>, while this script is the last thing parsed: before any script adds to the head

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
  function prefixSockets() {
    if (prefix) for (const name of ['WebSocket', 'EventSource']) {
      const Native = window[name];
      if (Native) window[name] = class extends Native { constructor(url, opts) { super(fixSocketUrl(url), opts); } };
    }
  }

  const key = () => window.name.replace(/^fhnb-/, '');  // the widget names its iframe; the server logs HX-* headers
  // htmx 4 names its events htmx:phase:action, with a `ctx`; fasthtml sets its metaCharacter to '-' (htmx-after-request)
  const on4 = (phase, action, f) => { for (const c of [':', '-']) document.addEventListener(`htmx${c}${phase}${c}${action}`, f); };
  // jupyter-server-proxy streams a response only when the request's Accept is exactly text/event-stream (it buffers
  // the rest to the end, which an endless stream never reaches); htmx 4's sse asks for "text/html, text/event-stream".
  const sseSource = (el) => !!(el && el.getAttributeNames && el.getAttributeNames().some((n) => /sse[:-]connect$/.test(n)));

  /** HTMX requests (2 and 4) go under the proxy prefix and name their preview. */
  function prepareHtmxRequests() {
    document.addEventListener('htmx:configRequest', (e) => {   // htmx 2
      e.detail.path = fix(e.detail.path);
      if (window.name) e.detail.headers['HX-Fhnb-Preview'] = key();
    });
    on4('config', 'request', (e) => {
      const c = e.detail.ctx, r = c.request;
      r.action = fix(r.action);
      if (prefix && sseSource(c.sourceElement)) r.headers.Accept = 'text/event-stream';
      if (window.name) r.headers['HX-Fhnb-Preview'] = key();
    });
  }

  // ---- refresh by morphing ----
  // A cell changed a route or data: the page is fetched again and the live document morphed into it, so what the user typed,
  // ticked, opened, focused and scrolled stays, and unchanged scripts and styles are not loaded again. A page whose <head> or
  // scripts changed cannot be morphed faithfully (new scripts would not run): the widget is told to reload it in full.
  const IDIOMORPH = '/_fhnb/static/vendor/idiomorph@0.7.3/dist/idiomorph-ext.min.js';   // fhnb's vendored copy (manifest.json)
  let morpher = null, bodyScripts = '', refreshing = Promise.resolve();
  const addressed = location.protocol.startsWith('http');   // a srcdoc page (fhnb's kernel route) is reloaded instead
  /** Idiomorph, evaluated with a stand-in `htmx` for its extension's registration (the page's htmx may be 4, or absent). */
  const idiomorph = () => (morpher ??= fetch(prefix + IDIOMORPH).then((r) => r.text())
    .then((js) => new Function('htmx', `${js}\nreturn Idiomorph;`)({ defineExtension() {} }))
    .catch((e) => { morpher = null; throw e; }));

  /** Whether the user changed form control `el` from what the page set: typed, ticked or picked. */
  const touched = (el) => el.tagName === 'OPTION' ? el.selected !== el.defaultSelected
    : (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && (el.value !== el.defaultValue || el.checked !== el.defaultChecked);
  /** What the user did wins over the new page: a touched control keeps its state, a <details> or <dialog> stays open or shut. */
  const userOwns = (attr, el) => (['value', 'checked', 'selected'].includes(attr) && touched(el))
    || (attr === 'open' && (el.tagName === 'DETAILS' || el.tagName === 'DIALOG'));
  const MORPH = { morphStyle: 'outerHTML', ignoreActiveValue: true, restoreFocus: true,
                  callbacks: { beforeAttributeUpdated: (attr, el) => !userOwns(attr, el) } };

  /** What a fetched page must share with the live one to be morphed into it: `doc`'s <head> scripts, styles, links and meta (not its title, nor fhnb's script). */
  function headSignature(doc) {
    const attrs = (e) => [...e.attributes].map((a) => `${a.name}=${['src', 'href'].includes(a.name) ? fix(a.value) : a.value}`);
    return JSON.stringify([...doc.head.children].filter((e) => e.tagName !== 'TITLE' && !e.hasAttribute('data-fhnb'))
      .map((e) => [e.tagName, ...attrs(e), ['SCRIPT', 'STYLE'].includes(e.tagName) ? e.textContent : '']));
  }
  /** The scripts in `root` (a morph does not run new ones). @param {Element} root */
  const scriptSignature = (root) => JSON.stringify([...root.querySelectorAll('script')].map((e) => [fix(e.getAttribute('src') || ''), e.textContent]));

  /** Morph the live page into `html`, the page the server answers now: {how: 'morph'} or {how: 'reload', why}. */
  async function morphInto(html) {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    if (headSignature(doc) !== servedHead) return { how: 'reload', why: "the page's <head> changed (scripts, styles, links or meta)" };
    if (scriptSignature(doc.body) !== bodyScripts) return { how: 'reload', why: "the page's scripts changed" };
    fixAttrs(doc);
    (await idiomorph()).morph(document.body, doc.body, MORPH);
    if (document.title !== doc.title) document.title = doc.title;
    if (window.htmx && htmx.process) htmx.process(document.body);   // htmx 2 and 4: wire what the morph added or changed
    return { how: 'morph' };
  }

  /** Fetch this page again and morph into it; what happened, for the widget (which reloads in full if asked to). */
  async function refresh() {
    if (!addressed) return { how: 'reload', why: 'the page has no address to fetch again (a srcdoc page)' };
    const t0 = performance.now();
    try {
      const r = await fetch(location.href, { cache: 'no-store', headers: window.name ? { 'HX-Fhnb-Preview': key() } : {} });
      if (r.redirected || !r.ok) return { how: 'reload', why: r.ok ? 'the page now redirects' : `the page answered ${r.status}` };
      const done = { ...(await morphInto(await r.text())), ms: Math.round(performance.now() - t0) };
      return done.how === 'morph' ? { ...done, ...(await replay()) } : done;
    } catch (e) { return { how: 'reload', why: `the morph failed (${e && e.message || e})` }; }
  }

  // ---- replaying the GETs that built the page ----
  // After a morph the page is the server's page as it is now: what the user's HTMX GETs had swapped in (search-as-you-type,
  // "load more", tabs, a click-to-edit form opened) is gone, while the inputs they read were kept. Those GETs are sent again,
  // in order, against the new code, from the same elements, and swapped in as the first time. A POST, PUT, PATCH or DELETE is
  // never sent again: once one has changed the page, it cannot be rebuilt this way, and the widget is told what was not replayed.
  const built = [];      // {method, path, values, source, where} of the page's HTMX requests since it loaded (at most 50)
  let replaying = false;
  /** A selector that finds `el` again in the morphed page: its id, else its place under the nearest element with one. */
  function whereIs(el) {
    const steps = [];
    for (let e = el; e && e !== document.body && e.parentElement; e = e.parentElement) {
      if (e.id) { steps.unshift('#' + CSS.escape(e.id)); return steps.join(' > '); }
      steps.unshift(`${e.tagName.toLowerCase()}:nth-child(${[...e.parentElement.children].indexOf(e) + 1})`);
    }
    return ['body', ...steps].join(' > ');
  }
  const valuesOf = (fd) => (fd && typeof fd.entries === 'function' ? Object.fromEntries(fd.entries()) : {});
  /** Note an HTMX request the page made (not one being replayed). */
  function noteRequest(method, path, values, source) {
    if (replaying || !method || !path) return;
    built.push({ method: method.toUpperCase(), path, values, source, where: source && source.nodeType === 1 ? whereIs(source) : null });
    if (built.length > 50) built.shift();
  }
  /** Send the page's GETs again, in order: what was replayed, and what was not (and why). */
  async function replay() {
    const others = [...new Set(built.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`))];
    if (others.length) return { replayed: [], skipped: others, why: 'a request that is not a GET changed the page: it is never sent again' };
    const replayed = [], skipped = [];
    if (!built.length || !window.htmx || !htmx.ajax) return { replayed, skipped };
    replaying = true;
    try {
      for (const r of built) {
        const source = (r.where && document.querySelector(r.where)) || (r.source && r.source.isConnected ? r.source : null);
        if (!source) { skipped.push(`GET ${r.path}`); continue; }
        try { await htmx.ajax('GET', r.path, { source, values: r.values }); replayed.push(`GET ${r.path}`); }
        catch (e) { skipped.push(`GET ${r.path}`); }
      }
    } finally { replaying = false; }
    return { replayed, skipped, why: skipped.length ? 'the element that sent it is not on the new page' : '' };
  }
  /** Note each HTMX request (2 and 4) the page sends, with its values and the element that sent it. */
  function noteRequests() {
    document.addEventListener('htmx:beforeRequest', (e) => {   // htmx 2
      const c = e.detail.requestConfig || {};
      noteRequest(c.verb, c.path, valuesOf(c.formData), e.detail.elt);
    });
    on4('before', 'request', (e) => {
      const c = e.detail.ctx, r = c && c.request;
      if (r) noteRequest(r.method, r.action, valuesOf(r.body), c.sourceElement);
    });
  }

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

  /** Tell the widget where the page scrolled (at most every 50 ms). */
  function reportScroll() {
    let ticking = false;
    window.addEventListener('scroll', () => {
      if (ticking) return;
      ticking = true;
      setTimeout(() => { ticking = false; sendLoc(); }, 50);  // not rAF: Chrome pauses it in off-screen frames
    });
  }

  // The widget asks for the scroll position the page had before it reloaded it. The browser's own restoring
  // would fight that, so it is off; the position is applied at once and again once the page has loaded.
  /** Do what the widget asks: scroll to where the page was, or refresh by morphing. */
  function obeyWidget() {
    if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
    let wantY = null;
    window.addEventListener('message', (e) => {
      if (e.source !== window.parent || !e.data || !['scroll', 'refresh'].includes(e.data.fhnb)) return;
      if (e.data.fhnb === 'refresh') { refreshing = refreshing.then(refresh).then((r) => post({ fhnb: 'refreshed', ...r })); return; }
      wantY = e.data.y || 0;
      window.scrollTo(0, wantY);
      if (document.readyState === 'complete') wantY = null;
    });
    window.addEventListener('load', () => { if (wantY !== null) { window.scrollTo(0, wantY); wantY = null; } });
  }

  const start = () => {
    bodyScripts = scriptSignature(document.body);
    fixAttrs(document);
    sendLoc(true); sendHeight();
    new ResizeObserver(sendHeight).observe(document.body);
  };
  // The server's log has no response bodies: tell the widget what came back, for its request inspector and error bar.
  const report = (method, url, status, text) => {
    let p = new URL(url || '', document.baseURI).pathname;
    if (prefix && p.startsWith(prefix + '/')) p = p.slice(prefix.length);
    post({ fhnb: 'response', method: (method || '').toUpperCase(), path: p, status, text: (text || '').slice(0, status >= 500 ? 50000 : 4000), t: Date.now() });  // error pages end with the exception
  };
  /** Tell the widget what each HTMX request (2 and 4) got back, and when one got no answer at all (the server may be gone). */
  function reportResponses() {
    document.addEventListener('htmx:afterRequest', (e) => {    // htmx 2
      const d = e.detail, x = d.xhr, c = d.requestConfig || {};
      if (x && x.status) report(c.verb, c.path, x.status, x.responseText);
    });
    on4('after', 'request', (e) => {
      const c = e.detail.ctx;
      if (c && c.response) report(c.request.method, c.request.action, c.response.status, c.text);
    });
    document.addEventListener('htmx:sendError', () => post({ fhnb: 'unreachable' }));
    for (const name of ['htmx:error', 'htmx-error']) document.addEventListener(name, (e) => { if (!(e.detail.ctx && e.detail.ctx.response)) post({ fhnb: 'unreachable' }); });
  }

  /** After each swap: the new elements' URLs under the prefix, the new height, the new address. */
  function followSwaps() {
    document.addEventListener('htmx:afterSwap', () => fixAttrs(document));  // outerHTML swaps replace the target
    on4('after', 'swap', () => fixAttrs(document));
    document.addEventListener('htmx:afterSettle', sendHeight);
    on4('after', 'settle', sendHeight);
    document.addEventListener('htmx:pushedIntoHistory', () => sendLoc());
  }

  prefixSockets();
  prepareHtmxRequests();
  reportScroll();
  obeyWidget();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
  window.addEventListener('load', () => { sendHeight(); if (addressed) setTimeout(() => idiomorph().catch(() => {}), 0); });   // ready for the first refresh
  reportResponses();
  noteRequests();
  followSwaps();
})();
