// Bundle the browser code into wastetrail/static/build/, where Django's static files find it.
//
//   node frontend/build.mjs          (what `make setup` runs)
//
// One file per page kind, fixed names so templates can say {% static 'build/map.js' %}:
//   app.js                htmx, loaded by every page (base.html)
//   map.js + map.css      Leaflet, its stylesheet and our map code (registry/map.html)
//   live.js + live.css    the live map of trucks and a vehicle's track (telemetry/live.html, track.html)
//   workorders.js + .css  a work order's place, the intake position picker, the open-orders map (complaints)
//   stacking.js + .css  the staff map of stacking points (stacking/map.html)
//   public.js + public.css  the public pages' map and place picker (complaints/templates/public/)
//   assets/*              images the stylesheets and scripts refer to, named by content hash
//
// The output depends only on the sources and the locked packages (no timestamps, no absolute
// paths, stale files removed first), so the same checkout always builds the same bytes.

import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "wastetrail", "static", "build");

await rm(outdir, { recursive: true, force: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: {
    app: "frontend/src/app.js",
    map: "frontend/src/map.js",
    live: "frontend/src/live.js",
    public: "frontend/src/public.js",
    workorders: "frontend/src/workorders.js",
    stacking: "frontend/src/stacking.js",
  },
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  // Government desktops lag behind: Windows PCs with Chromium-80-era kernels (360, QQ browsers).
  target: ["es2019", "chrome80", "firefox78"],
  loader: { ".png": "file", ".svg": "file" },
  assetNames: "assets/[name]-[hash]",
  // Keep the libraries' licence headers, gathered in one file next to the bundles.
  legalComments: "linked",
  sourcemap: "linked",
  sourcesContent: false,
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith(".map"))
  .map(([file, info]) => `  ${path.relative(root, path.resolve(root, file))}  ${(info.bytes / 1024).toFixed(1)} KiB`)
  .sort();
console.log(`built ${outputs.length} files:\n${outputs.join("\n")}`);
