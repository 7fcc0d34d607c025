// Builds the browser code: `npm run build` writes widget_server/static/dist/: counter.js (baked
// into /s/KEY.js), chat.js (the chat launcher, a module listed in the counter config's `m`),
// chat-panel.js (the chat panel, loaded by chat.js only when needed) and buy.js (the buy buttons,
// the config's `y`, loaded by the counter only on pages that use them).
// The out dir can be changed (the stale-build test builds into a temp dir):
// `node build.mjs OUT_DIR` or VITRINE_DIST=OUT_DIR.
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] || process.env.VITRINE_DIST || join(here, "../widget_server/static/dist"));

await build({
  entryPoints: ["counter", "chat", "chat-panel", "buy"].map((name) => join(here, `src/${name}.js`)),
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2018",
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
