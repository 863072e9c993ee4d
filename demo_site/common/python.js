// A demo's Python in the page. The packages live in demo_site/py/<package>/ (so the CPython tests
// import the very same files); build.py copies them to <site>/py/ and lists them in
// py/index.json. Here they are fetched, written into Pyodide's file system and imported.
//
//   const { digits } = await loadPython(pyodide, ["digits"], siteURL);
//   digits.to_8x8(imageData.data, width, height);     // a PyProxy of the module

const DIR = "/home/pyodide/demo_py";
let index = null;

async function get(url, how) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (rebuild the site: demo_site/build.py)`);
  return how === "json" ? r.json() : r.text();
}

/** Write each package's files under DIR, put DIR on sys.path, import: {package: module PyProxy}. */
export async function loadPython(pyodide, packages, site) {
  if (!packages.length) return {};
  index ??= await get(new URL("py/index.json", site), "json");
  for (const pkg of packages) {
    const files = index[pkg];
    if (!files) throw new Error(`Python package "${pkg}" is not on this site (py/index.json); is demo_site/py/${pkg}/__init__.py there?`);
    const texts = await Promise.all(files.map((f) => get(new URL(`py/${pkg}/${f}`, site))));
    files.forEach((f, i) => {
      const path = `${DIR}/${pkg}/${f}`;
      pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
      pyodide.FS.writeFile(path, texts[i]);
    });
  }
  pyodide.runPython(`import importlib, sys\nif ${JSON.stringify(DIR)} not in sys.path: sys.path.insert(0, ${JSON.stringify(DIR)})\nimportlib.invalidate_caches()`);
  return Object.fromEntries(packages.map((p) => [p, pyodide.pyimport(p)]));
}
