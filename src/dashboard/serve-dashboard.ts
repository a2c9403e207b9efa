/**
 * The web dashboard's files at `/dashboard` (the page) and `/dashboard/<file>` (its scripts,
 * styles and uPlot). Static: the files hold no data and need no token; the page asks the
 * admin API for everything, with the token the person signs in with.
 *
 * Only the files listed at start are served — the names in static/ and uPlot's two files —
 * so no path reaches anything else. Every answer carries a Content-Security-Policy that
 * allows scripts, styles and requests from this origin only and no inline script or style:
 * text from the API (function names, log lines) that slipped into markup could not run.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlickError } from "../errors/index.ts";

export const dashboardPrefix = "/dashboard";

const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // uPlot draws on canvases; nothing else loads images.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  // The sign-in form is handled by script and never submitted: the token stays out of URLs.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The files it serves: `<name>` → path on disk. static/ sits beside this file in the checkout and in the package (dist/, copied by scripts/build-dist.ts). */
function fileTable(): Map<string, string> {
  const files = new Map<string, string>();
  const staticDir = fileURLToPath(new URL("./static/", import.meta.url));
  for (const name of readdirSync(staticDir)) if (/^[a-z0-9-]+\.(html|js|css)$/.test(name)) files.set(name, path.join(staticDir, name));
  // uPlot from its npm package, wherever npm put it (the checkout's node_modules or the installed package's).
  const uplot = path.join(path.dirname(createRequire(import.meta.url).resolve("uplot/package.json")), "dist");
  files.set("uplot.js", path.join(uplot, "uPlot.iife.min.js"));
  files.set("uplot.css", path.join(uplot, "uPlot.min.css"));
  return files;
}

/** Serves the dashboard; throws FlickError (404, 405) for the node to render. Files are read once and kept. */
export function createDashboardHandler(): (req: IncomingMessage, res: ServerResponse, url: URL) => void {
  const files = fileTable();
  const cache = new Map<string, Buffer>();
  return (req, res, url) => {
    if (req.method !== "GET" && req.method !== "HEAD") throw new FlickError("method_not_allowed", `${req.method} is not allowed on ${url.pathname}; the dashboard is static, use GET`);
    const rest = url.pathname.slice(dashboardPrefix.length);
    const name = rest === "" || rest === "/" ? "index.html" : rest.slice(1);
    const file = files.get(name);
    if (file === undefined) throw new FlickError("not_found", `the dashboard has no file ${url.pathname}; open ${dashboardPrefix}/`);
    let body = cache.get(name);
    if (body === undefined) {
      body = readFileSync(file);
      cache.set(name, body);
    }
    res.writeHead(200, {
      "content-type": types[path.extname(file)] ?? "application/octet-stream",
      "content-length": body.byteLength,
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      // Revalidated each load: a node upgraded in place serves its new files at once.
      "cache-control": "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
