import { deliveryView, limitParam } from "../../admin/kit.ts";
import type { Session } from "../../auth/sessions.ts";
import { Conflict, NotFound } from "../../errors.ts";
import type { UiDeps } from "../deps.ts";
import { html, query, time, type Html } from "../html.ts";
import { csrfField } from "../layout.ts";

// Dead letters: GET /api/deliveries?status=dead; POST /api/destinations/:name/retry-dead and …/discard-dead for the matching set.

/** Dead deliveries per destination, as GET /api/destinations counts them. */
export async function deadCounts(deps: UiDeps, destination: string | undefined): Promise<Map<string, number>> {
  const open = await deps.store.admin.openCounts();
  const out = new Map<string, number>();
  for (const [name, c] of open) if (c.dead > 0 && (destination === undefined || name === destination)) out.set(name, c.dead);
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export async function deadPage(deps: UiDeps, filter: { destination?: string; cursor?: string }, session: Session): Promise<Html> {
  const queries = deps.store.admin;
  const counts = await deadCounts(deps, filter.destination);
  const total = sum(counts);
  const page = await queries.listDeliveries({ status: "dead", destination: filter.destination, cursor: filter.cursor, limit: limitParam(undefined) });
  const names = [...new Set([...Object.keys(deps.config().destinations), ...(await deadCounts(deps, undefined)).keys()])];
  return html`<form class="filters" method="get" action="/ui/dead">
<label for="destination">Destination<select id="destination" name="destination"><option value="">any</option>
${names.map((n) => html`<option${n === filter.destination ? html` selected` : ""}>${n}</option>`)}</select></label>
<button type="submit">Filter</button>
</form>
<p><strong data-count="${total}">${total}</strong> dead ${total === 1 ? "delivery" : "deliveries"} match.
${total > 0
  ? html`<a href="/ui/dead/retry${query({ destination: filter.destination })}">Retry all ${total} matching…</a>
<a href="/ui/dead/discard${query({ destination: filter.destination })}">Discard all ${total} matching…</a>`
  : ""}</p>
${page.items.length === 0
  ? ""
  : html`<div class="table-wrap"><table>
<thead><tr><th>Delivery</th><th>Destination</th><th>Type</th><th>Created</th><th class="num">Attempts</th><th>Last error</th><th>Actions</th></tr></thead>
<tbody>${page.items.map(deliveryView).map(
      (d) => html`<tr><td class="mono">${d.eventId ? html`<a href="/ui/events/${encodeURIComponent(d.eventId)}">${d.id}</a>` : d.id}</td>
<td>${d.destination}</td><td>${d.eventType}</td><td>${time(d.createdAt)}</td><td class="num">${d.attempts}</td><td class="mono">${d.lastError ?? "–"}</td>
<td><div class="actions"><form class="inline" method="post" action="/ui/deliveries/${encodeURIComponent(d.id)}/retry">${csrfField(session)}<button type="submit" aria-label="Retry ${d.id}">Retry</button></form>
<a href="/ui/dead/discard${query({ delivery: d.id })}" aria-label="Discard ${d.id}">Discard…</a></div></td></tr>`,
    )}</tbody></table></div>`}
${page.nextCursor ? html`<p class="pager"><a href="/ui/dead${query({ destination: filter.destination, cursor: page.nextCursor })}">Next page</a></p>` : ""}`;
}

/** The confirmation states N; the POST carries N back so a count that changed meanwhile is not retried blind. */
export async function confirmRetryPage(deps: UiDeps, destination: string | undefined, session: Session): Promise<Html> {
  const counts = await deadCounts(deps, destination);
  const total = sum(counts);
  return html`<p>Retry all <strong>${total}</strong> dead ${total === 1 ? "delivery" : "deliveries"}${destination ? html` of <strong>${destination}</strong>` : ""}?
Each goes back in line, due now, with its history kept.</p>
<form method="post" action="/ui/dead/retry">${csrfField(session)}
<input type="hidden" name="destination" value="${destination ?? ""}"><input type="hidden" name="expected" value="${total}">
<div class="actions"><button class="primary" type="submit">Retry ${total}</button> <a href="/ui/dead${query({ destination })}">Cancel</a></div>
</form>`;
}

/** Discarding cannot be undone: one delivery, or the matching set whose N the POST carries back. */
export async function confirmDiscardPage(deps: UiDeps, target: { delivery?: string; destination?: string }, session: Session): Promise<Html> {
  if (target.delivery !== undefined) {
    const d = await deps.store.admin.getDelivery(target.delivery);
    if (!d) throw new NotFound("unknown delivery");
    if (d.status !== "dead") throw new Conflict(`delivery is ${d.status}; only a dead delivery can be discarded`);
    return html`<p>Discard dead delivery <strong class="mono">${d.id}</strong> to <strong>${d.destination}</strong>?
It is never sent again and no longer counts as dead; it stays in the history with its attempts.</p>
<form method="post" action="/ui/dead/discard">${csrfField(session)}
<input type="hidden" name="delivery" value="${d.id}">
<div class="actions"><button class="primary" type="submit">Discard ${d.id}</button> <a href="/ui/dead">Cancel</a></div>
</form>`;
  }
  const destination = target.destination;
  const total = sum(await deadCounts(deps, destination));
  return html`<p>Discard all <strong>${total}</strong> dead ${total === 1 ? "delivery" : "deliveries"}${destination ? html` of <strong>${destination}</strong>` : ""}?
None is sent again and none counts as dead any more; each stays in the history with its attempts.</p>
<form method="post" action="/ui/dead/discard">${csrfField(session)}
<input type="hidden" name="destination" value="${destination ?? ""}"><input type="hidden" name="expected" value="${total}">
<div class="actions"><button class="primary" type="submit">Discard ${total}</button> <a href="/ui/dead${query({ destination })}">Cancel</a></div>
</form>`;
}
