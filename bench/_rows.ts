import { bundlePage, bundlePages } from "./bundle.js";

for (const [p, i, e] of bundlePages) {
  const { row: r, loadedInputs } = await bundlePage(p, i, e);
  console.log(
    p,
    i,
    r.gzipBytes,
    (r.gzipBytes / 1024).toFixed(1),
    "min",
    (r.minifiedBytes / 1024).toFixed(1),
    "notloaded",
    r.notLoadedBytes,
    loadedInputs.filter((x) => /_pb|registry|to-json/.test(x)).length,
  );
}
