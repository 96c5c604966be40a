// fhnb: https://cdn.jsdelivr.net/gh/answerdotai/surreal@main/surreal.js has no npm source, so fhnb does not vendor it.
console.warn("fhnb offline: surreal is not vendored (no npm source); missing: surreal's me()/any() helpers, so inline scripts that use them (fasthtml's On, Prev, Now, AnyNow) do nothing. Set offline = false in settings.ini to load it from its CDN.")
