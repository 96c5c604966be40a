// fhnb bridge: the first script of a preview's page on the kernel route (fhnb/bridge.py, preview.js).
// The page is a sandboxed srcdoc iframe: it cannot reach the kernel's server, and its <base> names the server only so
// that URLs resolve as they would there. This script sends what the page asks of the server to the widget by
// postMessage: fetch (htmx 4), XMLHttpRequest (htmx 2), link clicks and form submissions. The widget carries them over
// its comm to the kernel and posts the answers back. WebSockets and server-sent events are not carried: opening one
// tells the widget, which says that they need the direct or the proxy route.
(() => {
  if (window.parent === window || window.__fhnbBridge) return;
  window.__fhnbBridge = true;
  const post = (msg, transfer = []) => window.parent.postMessage(msg, '*', transfer);   // the widget checks the source
  const server = () => new URL(document.baseURI);
  const own = (u) => u.origin === server().origin;
  const NO_BODY = new Set([101, 103, 204, 205, 304]);

  // Scripts resolve URLs against location.href or, in an about: page, window.origin (htmx 2): here 'about:srcdoc' and
  // 'null', which resolve nothing. Resolve them against the page's URL on the server instead. Its origin is not this
  // document's, so htmx 2 would refuse every request as another host's: the bridge carries requests to the page's own
  // server only, so htmx may let them through.
  const NativeURL = window.URL, here = new Set([location.href, String(window.origin)]);
  window.URL = class URL extends NativeURL {
    constructor(url, base) { super(url, base !== undefined && here.has(String(base)) ? document.baseURI : base); }
  };
  document.addEventListener('DOMContentLoaded', () => { if (window.htmx && window.htmx.config) window.htmx.config.selfRequestsOnly = false; });

  const waiting = new Map();   // request id -> resolve
  let last = 0;
  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || !e.data || e.data.fhnb !== 'bridged') return;
    const done = waiting.get(e.data.id);
    if (done) { waiting.delete(e.data.id); done(e.data); }
  });

  /** `req` (a Request on the server) as the widget carries it: {method, url: path and query, headers, body}. */
  async function message(req) {
    const u = new URL(req.url), headers = [...req.headers].filter(([k]) => k !== 'hx-current-url');
    if (req.headers.has('hx-current-url')) headers.push(['hx-current-url', document.baseURI]);   // the page's URL, not about:srcdoc
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : await req.arrayBuffer();
    return { method: req.method, url: u.pathname + u.search, headers, body };
  }

  /** Carry `req` to the server; resolves to {status, statusText, headers: [[k, v]], body: ArrayBuffer, url} (after redirects). */
  async function carry(req) {
    const m = await message(req), id = ++last;
    const answer = new Promise((ok) => waiting.set(id, ok));
    post({ fhnb: 'bridge', id, ...m }, m.body ? [m.body] : []);
    return htmxNavigation(await answer);
  }

  /** htmx navigates itself on HX-Redirect and HX-Refresh (location.href: out of this sandbox): the widget does it instead. */
  function htmxNavigation(a) {
    const get = (k) => (a.headers.find(([n]) => n.toLowerCase() === k) || [])[1];
    const to = get('hx-redirect') || (get('hx-refresh') === 'true' ? a.url : null);
    if (!to) return a;
    navigate(new Request(new URL(to, new URL(a.url, document.baseURI))));
    return { ...a, status: 204, body: new ArrayBuffer(0), headers: a.headers.filter(([k]) => !/^hx-/i.test(k)) };
  }

  /** Ask the widget to load `req`'s answer as the page (a link, a form, a redirect). */
  async function navigate(req) { post({ fhnb: 'navigate', ...(await message(req)) }); }

  // fetch: htmx 4, and the page's own
  const nativeFetch = window.fetch;
  window.fetch = async (input, init) => {
    const req = new Request(typeof input === 'string' || input instanceof URL ? new URL(String(input), document.baseURI) : input, init);
    if (!own(new URL(req.url))) return nativeFetch(input, init);
    if ((req.headers.get('accept') || '').includes('text/event-stream')) {   // htmx 4's sse: an endless answer, not carried
      post({ fhnb: 'unbridged', what: 'EventSource' });
      throw new TypeError('fhnb kernel route: server-sent events need the direct route or jupyter-server-proxy');
    }
    const a = await carry(req);
    if (a.error) throw new TypeError(`fhnb kernel route: ${a.error}`);
    return new Response(NO_BODY.has(a.status) ? null : a.body, { status: a.status, statusText: a.statusText || '', headers: a.headers.filter(([k]) => k.toLowerCase() !== 'set-cookie') });
  };

  // XMLHttpRequest: htmx 2 (onload, onerror, upload listeners, response headers)
  class BridgedXHR extends EventTarget {
    constructor() {
      super();
      Object.assign(this, { readyState: 0, status: 0, statusText: '', response: '', responseText: '', responseType: '', responseURL: '',
        timeout: 0, withCredentials: false, upload: new EventTarget(), sent: new Headers(), answer: null, aborted: false });
    }
    open(method, url) { this.method = String(method).toUpperCase(); this.url = new URL(url, document.baseURI); this.state(1); }
    setRequestHeader(k, v) { this.sent.append(k, v); }
    overrideMimeType() {}
    getResponseHeader(k) {
      const v = (this.answer ? this.answer.headers : []).filter(([n]) => n.toLowerCase() === k.toLowerCase()).map(([, x]) => x);
      return v.length ? v.join(', ') : null;
    }
    getAllResponseHeaders() { return (this.answer ? this.answer.headers : []).map(([k, v]) => `${k.toLowerCase()}: ${v}\r\n`).join(''); }
    abort() { this.aborted = true; this.state(4); this.fire('abort'); this.fire('loadend'); }
    fire(type) {
      const e = new ProgressEvent(type);
      if (typeof this[`on${type}`] === 'function') this[`on${type}`](e);
      this.dispatchEvent(e);
    }
    state(n) { this.readyState = n; this.fire('readystatechange'); }
    async send(body) {
      this.fire('loadstart');
      const plain = this.method === 'GET' || this.method === 'HEAD';
      const a = own(this.url) ? await carry(new Request(this.url, { method: this.method, headers: this.sent, body: plain ? undefined : body }))
                              : { error: `${this.url.origin} is not the app's server` };
      if (this.aborted) return;
      if (a.error) { this.state(4); this.fire('error'); this.fire('loadend'); return; }
      Object.assign(this, { answer: a, status: a.status, statusText: a.statusText || '', responseURL: new URL(a.url, document.baseURI).href });
      this.state(2); this.state(3);
      this.responseText = new TextDecoder().decode(a.body);
      const t = this.responseType;
      this.response = t === 'arraybuffer' ? a.body : t === 'blob' ? new Blob([a.body]) : t === 'json' ? JSON.parse(this.responseText || 'null')
        : t === 'document' ? new DOMParser().parseFromString(this.responseText, 'text/html') : this.responseText;
      this.state(4); this.fire('load'); this.fire('loadend');
    }
  }
  Object.assign(BridgedXHR, { UNSENT: 0, OPENED: 1, HEADERS_RECEIVED: 2, LOADING: 3, DONE: 4 });
  window.XMLHttpRequest = BridgedXHR;

  // Links and forms htmx left alone (it prevents the default of those it handles): loaded by the widget.
  window.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (e.defaultPrevented || !a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if ((a.target && a.target !== '_self') || a.hasAttribute('download')) return;
    const u = new URL(a.href, document.baseURI), here = server();
    if (!own(u) || (u.hash && u.pathname + u.search === here.pathname + here.search)) return;   // another site; an anchor on this page
    e.preventDefault();
    navigate(new Request(u));
  });
  window.addEventListener('submit', (e) => {
    const form = e.target, by = e.submitter;
    if (e.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    const method = ((by && by.getAttribute('formmethod')) || form.getAttribute('method') || 'GET').toUpperCase();
    const u = new URL((by && by.getAttribute('formaction')) || form.getAttribute('action') || '', document.baseURI);
    if (!own(u) || method === 'DIALOG') return;
    e.preventDefault();
    const data = new FormData(form, by);
    const multipart = ((by && by.getAttribute('formenctype')) || form.enctype) === 'multipart/form-data';
    if (method === 'GET') { u.search = new URLSearchParams(data); navigate(new Request(u)); }
    else navigate(new Request(u, { method, body: multipart ? data : new URLSearchParams(data) }));
  });

  // Images a swap adds later (the page's own were inlined before it loaded): fetched over the bridge, shown from a blob.
  // The browser has already tried the server's URL by then: that request fails, unseen.
  async function bridgeImage(img) {
    const asked = img.getAttribute('src'), u = new URL(asked, document.baseURI);
    if (!own(u)) return;
    const a = await carry(new Request(u));
    const type = (a.headers.find(([k]) => k.toLowerCase() === 'content-type') || [])[1] || '';
    if (a.status < 400 && img.getAttribute('src') === asked) img.src = URL.createObjectURL(new Blob([a.body], { type }));   // unless the page changed it meanwhile
  }
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) {
      if (n.nodeType !== 1) continue;
      for (const img of [...(n.matches('img[src]') ? [n] : []), ...n.querySelectorAll('img[src]')]) bridgeImage(img);
    }
  }).observe(document, { childList: true, subtree: true });

  for (const name of ['WebSocket', 'EventSource']) {
    const Native = window[name];
    if (Native) window[name] = class extends Native { constructor(url, opts) { post({ fhnb: 'unbridged', what: name }); super(url, opts); } };
  }
})();
