// The demo site's service worker. build.py writes <site>/sw.js as this file preceded by
//   const VERSION = "<hash of every shell file>";  const SHELL = ["index.html", "common/demo.js", ...];
// The shell (pages, common/, py/, webflow_js/, pyodide/, the wheel, manifest.json) is cached
// whole when the worker installs and served from that cache: after one visit every page works
// offline. A site rebuilt with any changed file has a new VERSION, so the browser installs the
// new worker, which caches the new shell and deletes the old one (the page says to reload).
// Models are not the shell: requests under models/ go to the network, and webflow_js/fetch.js
// keeps its own Cache API copy of every model (shards checked by sha256) for offline use.

const PREFIX = "webflow-demo-shell-";
const CACHE = PREFIX + VERSION;
const BASE = new URL("./", self.location.href); // the site root, where sw.js sits
const IN_SHELL = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: "reload" skips the HTTP cache, so the shell is what the server has now
    await cache.addAll(SHELL.map((f) => new Request(new URL(f, BASE), { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim(); // pages opened before the worker are served by it from now on
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) return;
  let path = decodeURIComponent(url.pathname.slice(BASE.pathname.length));
  if (path === "" || path.endsWith("/")) path += "index.html"; // a page's folder URL
  if (!IN_SHELL.has(path)) return; // models and anything else: the network, as without a worker
  event.respondWith(fromShell(request, path));
});

async function fromShell(request, path) {
  const hit = await caches.match(new URL(path, BASE).href, { cacheName: CACHE });
  return hit || fetch(request); // not cached (an install that has not finished): the network
}
