import { Elysia } from "elysia";

// A small API reference page that reads /api/openapi. Everything it needs is in this file,
// so it works on networks without internet access and ships inside the single binary.

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1f23;background:#fafafa}
header{padding:18px 28px;background:#20242b;color:#fff}header h1{margin:0;font-size:20px}
main{padding:12px 28px;max-width:1100px}h2{margin:26px 0 8px;font-size:17px;text-transform:capitalize}
details{background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:baseline}
.m{font:600 12px monospace;min-width:58px;text-align:center;padding:2px 6px;border-radius:4px;color:#fff}
.get{background:#2f7bd8}.post{background:#1f9a5b}.delete{background:#c8423b}.put,.patch{background:#c08a16}
.p{font-family:monospace}.s{color:#555}.body{padding:4px 14px 12px}pre{background:#f3f3f5;padding:8px;overflow:auto;font-size:12px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 10px 3px 0;text-align:left;vertical-align:top}`;

const SCRIPT = `
const el = (tag, attrs, ...kids) => { const n = document.createElement(tag); Object.assign(n, attrs || {});
  for (const k of kids) n.append(k); return n; };
const json = (v) => el("pre", { textContent: JSON.stringify(v, null, 2) });
fetch("openapi").then((r) => r.json()).then((doc) => {
  document.title = doc.info.title + " API";
  document.querySelector("h1").textContent = doc.info.title + " " + doc.info.version + " — " + (doc.info.description || "");
  const main = document.querySelector("main");
  const groups = new Map();
  for (const [path, ops] of Object.entries(doc.paths || {})) for (const [method, op] of Object.entries(ops)) {
    const tag = (op.tags && op.tags[0]) || "other";
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag).push([method, path, op]);
  }
  for (const [tag, ops] of groups) {
    main.append(el("h2", { textContent: tag }));
    for (const [method, path, op] of ops) {
      const body = el("div", { className: "body" });
      if (op.description) body.append(el("p", { textContent: op.description }));
      if (op.parameters && op.parameters.length) {
        const t = el("table", {}, el("tr", {}, el("th", { textContent: "parameter" }), el("th", { textContent: "in" }), el("th", { textContent: "schema" })));
        for (const p of op.parameters) t.append(el("tr", {}, el("td", { className: "p", textContent: p.name + (p.required ? " *" : "") }),
          el("td", { textContent: p.in }), el("td", { className: "p", textContent: JSON.stringify(p.schema) + (p.description ? " — " + p.description : "") })));
        body.append(t);
      }
      const req = op.requestBody && op.requestBody.content;
      if (req) for (const [type, c] of Object.entries(req)) body.append(el("h4", { textContent: "request " + type }), json(c.schema));
      for (const [status, r] of Object.entries(op.responses || {})) {
        const c = r.content && Object.values(r.content)[0];
        body.append(el("h4", { textContent: "response " + status }));
        if (c && c.schema) body.append(json(c.schema));
      }
      main.append(el("details", {}, el("summary", {}, el("span", { className: "m " + method, textContent: method.toUpperCase() }),
        el("span", { className: "p", textContent: path }), el("span", { className: "s", textContent: op.summary || "" })), body));
    }
  }
}).catch((e) => { document.querySelector("main").textContent = "Could not load /api/openapi: " + e; });`;

export const VIEWER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>API reference</title><style>${STYLE}</style></head>
<body><header><h1>API reference</h1></header><main></main><script>${SCRIPT}</script></body></html>`;

/** GET /api/docs: the browsable reference of the OpenAPI document at /api/openapi. */
export function openapiViewerPlugin() {
  return new Elysia({ name: "openapi-viewer" }).get(
    "/api/docs",
    () => new Response(VIEWER_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
    { detail: { hide: true } },
  );
}
