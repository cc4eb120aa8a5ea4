import { iso } from "../../admin/kit.ts";
import { configHash, routingTable } from "../../config/describe.ts";
import type { UiDeps } from "../deps.ts";
import { html, time, type Html } from "../html.ts";

// Config: the routing table as `relay check` prints it, the running config's hash, and the last reload.

export function configPage(deps: UiDeps): Html {
  const config = deps.config();
  const reload = deps.lastReload();
  return html`<dl class="facts">
<dt>File</dt><dd class="mono">${config.file || "(built in code)"}</dd>
<dt>Config hash</dt><dd class="mono" data-hash>${configHash(config)}</dd>
<dt>Last reload</dt><dd>${reload === null ? "none since start" : html`${time(iso(reload.at))} · ${reload.applied ? "applied" : "rejected; the previous config still runs"}`}</dd>
</dl>
${reload && reload.errors.length > 0 ? html`<h2>Errors of the last reload</h2><pre role="alert">${reload.errors.join("\n")}</pre>` : ""}
<h2>Routing table</h2>
<pre>${routingTable(config)}</pre>`;
}
