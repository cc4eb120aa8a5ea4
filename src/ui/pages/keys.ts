import { iso } from "../../admin/kit.ts";
import { KEY_PREFIX, SCOPES, type CreatedKey } from "../../auth/keys.ts";
import type { Session } from "../../auth/sessions.ts";
import type { UiDeps } from "../deps.ts";
import { html, time, type Html } from "../html.ts";
import { csrfField } from "../layout.ts";

// Keys: the view of GET /api/api-keys; a created key appears in the answer to its creation and nowhere else.

/** The Source choice of a key bound to no source; no source name starts with "_". */
export const UNBOUND = "_unbound";

export async function keysPage(deps: UiDeps, session: Session, created: CreatedKey | null): Promise<Html> {
  const keys = await deps.keys.list();
  const sources = Object.keys(deps.config().sources);
  return html`${created
    ? html`<div class="card" role="status"><p><strong>Key created. Copy it now: it is not shown again.</strong></p>
<p class="secret mono" data-new-key>${created.key}</p></div>`
    : ""}
<h2>Create a key</h2>
<form class="filters" method="post" action="/ui/keys">${csrfField(session)}
<label for="name">Name<input id="name" name="name" required maxlength="200"></label>
<fieldset><legend class="muted">Scopes</legend>
${SCOPES.map((s, i) => html`<label><span><input type="checkbox" name="scopes" value="${s}"${i === 0 ? html` checked` : ""}> ${s}</span></label>`)}
</fieldset>
<label for="rate">Requests per minute<input id="rate" name="rateLimitPerMinute" type="number" min="1" value="600"></label>
<label for="key-source">Source<select id="key-source" name="source"><option value="">the only source</option>
${sources.map((s) => html`<option>${s}</option>`)}<option value="${UNBOUND}">none (sources with require_api_key)</option></select></label>
<button class="primary" type="submit">Create key</button>
</form>
<h2>Keys (${keys.length})</h2>
<div class="table-wrap"><table>
<thead><tr><th>Name</th><th>Prefix</th><th>Scopes</th><th class="num">Per minute</th><th>Source</th><th>Created</th><th>Last used</th><th>State</th><th></th></tr></thead>
<tbody>${keys.map(
    (k) => html`<tr data-key="${k.id}"><td>${k.name}</td><td class="mono">${KEY_PREFIX}${k.id}_</td><td>${k.scopes.join(", ")}</td>
<td class="num">${k.rateLimitPerMinute ?? "–"}</td><td>${k.source ?? "any"}</td><td>${time(iso(k.createdAt))}</td>
<td>${time(k.lastUsedAt === null ? null : iso(k.lastUsedAt))}</td>
<td>${k.revokedAt === null ? html`<span class="state state-ok">active</span>` : html`<span class="state state-dead">revoked</span>`}</td>
<td>${k.revokedAt === null
      ? html`<form class="inline" method="post" action="/ui/keys/${encodeURIComponent(k.id)}/revoke">${csrfField(session)}<button class="danger" type="submit" aria-label="Revoke ${k.name}">Revoke</button></form>`
      : ""}</td></tr>`,
  )}</tbody></table></div>`;
}
