// Builds the pages for a package: every page module bundled with its npm dependencies (esbuild),
// the pages' other files copied beside them, and the few files the pages fetch by URL at run time
// (MediaPipe's wasm) under vendor/. The result needs no node_modules: the server serves it as is.
//   node build.mjs [OUTDIR]     (default: ../avatar_care/web, inside the Python package)
// The output keeps the sources' paths (room/customer.html loads room/customer.js), so a page works
// the same from the sources and from the bundle; only the import maps go, as nothing is left to map.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, "..", "avatar_care", "web"));
// what is not a page: the packages themselves, the node tests, this script and npm's files
const NOT_PAGES = new Set(["node_modules", "test", "build.mjs", "package.json", "package-lock.json"]);
// files the pages load by URL rather than import: the holistic landmarker's module and wasm
// (and the .cjs build for the console's capture worker, a classic worker that loads it with importScripts)
const VENDOR_FILES = [
  "@mediapipe/tasks-vision/vision_bundle.mjs",
  "@mediapipe/tasks-vision/vision_bundle.cjs",
  "@mediapipe/tasks-vision/wasm",
];
const IMPORT_MAP = /[ \t]*<script type="importmap">[\s\S]*?<\/script>\n?/g;

function pageFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (dir === here && NOT_PAGES.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...pageFiles(path));
    else files.push(path);
  }
  return files;
}

const files = pageFiles(here);
// every module is an entry point, so any page, worker or inline script finds the module it names
// at its own path; code two entries share goes to one chunk, evaluated once
const modules = files.filter((f) => /\.m?js$/.test(f));
rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: modules,
  outbase: here,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// A module's own URL (import.meta.url) stays right only where its code stays in its own file: code
// that pages share moves into chunks/, so a URL relative to it would point elsewhere. Such a module
// should name the file from the site root (/app/..., /vendor/...), as the pages do.
for (const [output, { inputs }] of Object.entries(result.metafile.outputs)) {
  for (const input of Object.keys(inputs)) {
    const source = resolve(input);
    const own = join(outdir, relative(here, source));
    if (source.includes(`${sep}node_modules${sep}`) || resolve(output) === own) continue;
    if (readFileSync(source, "utf8").includes("import.meta.url")) {
      throw new Error(`${input} uses import.meta.url, but its code is bundled into ${output}: name the URL from the site root`);
    }
  }
}

for (const file of files.filter((f) => !modules.includes(f))) {
  const target = join(outdir, relative(here, file));
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith(".html")) writeFileSync(target, readFileSync(file, "utf8").replace(IMPORT_MAP, ""));
  else cpSync(file, target);
}
for (const path of VENDOR_FILES) {
  cpSync(join(here, "node_modules", path), join(outdir, "vendor", path), { recursive: true });
}

// the licences of the npm packages the output carries
const packages = new Set(VENDOR_FILES.map((p) => p.split("/").slice(0, 2).join("/")));
for (const input of Object.keys(result.metafile.inputs)) {
  const parts = input.split(/[\\/]/);
  const at = parts.indexOf("node_modules");
  if (at >= 0) packages.add(parts.slice(at + 1, at + (parts[at + 1].startsWith("@") ? 3 : 2)).join("/"));
}
const notices = [...packages].sort().map((name) => {
  const root = join(here, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const licence = readdirSync(root).find((f) => /^licen[cs]e/i.test(f));
  const text = licence ? readFileSync(join(root, licence), "utf8").trim() : `License: ${meta.license}`;
  return `${name} ${meta.version}\n\n${text}\n`;
});
writeFileSync(join(outdir, "THIRD_PARTY_LICENSES.txt"), notices.join(`\n${"-".repeat(72)}\n\n`));

const count = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : 1), 0);
console.log(`pages built into ${relative(process.cwd(), outdir) || "."}${sep} (${count(outdir)} files)`);
if (!existsSync(join(outdir, "room", "customer.html"))) throw new Error("the customer page is missing from the build");
