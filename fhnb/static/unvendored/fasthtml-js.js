// fhnb: https://cdn.jsdelivr.net/gh/answerdotai/fasthtml-js@1.0.12/fasthtml.js has no npm source, so fhnb does not vendor it.
console.warn("fhnb offline: fasthtml-js is not vendored (no npm source); missing: fasthtml.js's proc_htmx, used by fasthtml's MarkdownJS, SortableJS, MermaidJS and KatexMarkdownJS. Set offline = false in settings.ini to load it from its CDN.")
