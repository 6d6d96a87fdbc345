// `next build` with output: "standalone" leaves the static assets out of
// .next/standalone (they are meant for a CDN). We serve them from the same
// server, so copy them in: afterwards `node .next/standalone/server.js` is
// self-contained and a Dockerfile can copy that one folder.
import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const standalone = path.join(root, ".next", "standalone");
if (!existsSync(path.join(standalone, "server.js"))) {
  console.error(`copy-standalone-assets: ${standalone}/server.js not found; did next build run with output: "standalone"?`);
  process.exit(1);
}
for (const [from, to] of [
  [path.join(root, ".next", "static"), path.join(standalone, ".next", "static")],
  [path.join(root, "public"), path.join(standalone, "public")],
]) {
  rmSync(to, { recursive: true, force: true });
  if (existsSync(from)) cpSync(from, to, { recursive: true });
}
console.log("copy-standalone-assets: copied .next/static and public into .next/standalone");
