import type { Session } from "../../auth/sessions.ts";
import type { UiDeps } from "../deps.ts";
import { age, html, time, type Html } from "../html.ts";
import { csrfField } from "../layout.ts";

// Now: one row per destination, from the same computation as GET /api/destinations.

const STATE_LABELS: Record<string, string> = {
  closed: "ok",
  open: "circuit open",
  half_open: "probing",
  paused: "paused",
  disabled: "disabled",
  removed: "removed",
};

/** The state an operator reads: "retrying" when the circuit is closed but deliveries wait after an error. */
export function stateLabel(state: string, pending: number, lastError: string | null): { key: string; label: string } {
  if (state === "closed" && pending > 0 && lastError !== null) return { key: "retrying", label: "retrying" };
  return { key: state, label: STATE_LABELS[state] ?? state };
}

export async function nowTable(deps: UiDeps, session: Session): Promise<Html> {
  const stats = await deps.admin.destinations();
  const now = deps.clock.now();
  const configured = deps.config().destinations;
  return html`<div class="table-wrap"><table>
<caption class="muted">Last hour since ${time(stats.since)}; totals are attempts since each destination's first one, as GET /api/destinations counts them.</caption>
<thead><tr><th>Destination</th><th>State</th><th class="num">Pending</th><th class="num">Oldest pending</th>
<th class="num">Delivered 1 h</th><th class="num">Failed 1 h</th><th class="num hide-narrow">Delivered total</th><th class="num hide-narrow">Failed total</th>
<th>Last success</th><th>Last error</th><th>Actions</th></tr></thead>
<tbody>
${stats.destinations.map((d) => {
  const state = stateLabel(d.state, d.pending, d.lastError);
  const oldest = d.oldestPendingAt === null ? null : Date.parse(d.oldestPendingAt);
  return html`<tr data-destination="${d.name}">
<td><a href="/ui/dead?destination=${encodeURIComponent(d.name)}">${d.name}</a><div class="muted mono hide-narrow">${d.url ?? ""}</div></td>
<td><span class="state state-${state.key}">${state.label}</span></td>
<td class="num">${d.pending}</td>
<td class="num">${age(oldest, now)}</td>
<td class="num">${d.sent}</td>
<td class="num">${d.failed}</td>
<td class="num hide-narrow">${d.totals.sent}</td>
<td class="num hide-narrow">${d.totals.failed}</td>
<td>${time(d.lastSentAt)}</td>
<td>${d.lastError === null ? "–" : html`${time(d.lastErrorAt)}<div class="mono">${d.lastError}</div>`}</td>
<td>${configured[d.name] ? actions(d.name, d.state, session) : ""}</td>
</tr>`;
})}
</tbody></table></div>`;
}

function actions(name: string, state: string, session: Session): Html {
  const path = `/ui/destinations/${encodeURIComponent(name)}`;
  const toggle = state === "paused" || state === "disabled" ? ["resume", "Resume"] : ["pause", "Pause"];
  return html`<div class="actions">
<form class="inline" method="post" action="${path}/${toggle[0]}">${csrfField(session)}<button type="submit" aria-label="${toggle[1]} ${name}">${toggle[1]}</button></form>
<form class="inline" method="post" action="${path}/test">${csrfField(session)}<button type="submit" aria-label="Send a test to ${name}">Send test</button></form>
</div>`;
}

/** The table refreshes itself every few seconds with htmx; without JavaScript the Refresh link reloads the page. */
export async function nowPage(deps: UiDeps, session: Session): Promise<Html> {
  return html`<p><a href="/ui">Refresh</a> <span class="muted">(refreshes itself every 5 s)</span></p>
<div id="now" hx-get="/ui/now/table" hx-trigger="every 5s" hx-swap="innerHTML">${await nowTable(deps, session)}</div>`;
}
