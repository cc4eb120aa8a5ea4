import { eventQuery, iso } from "../../admin/kit.ts";
import { DELIVERY_STATUSES } from "../../store/admin-queries.ts";
import type { UiDeps } from "../deps.ts";
import { html, query, time, type Html } from "../html.ts";

// Find: by event id, delivery id, idempotency key or body text, with the filters of GET /api/events.

export interface FindQuery {
  q?: string;
  source?: string;
  type?: string;
  status?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: string;
}

const blank = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());

/** An exact id or key: the event to open at once, or null to search bodies. */
export async function exactMatch(deps: UiDeps, q: string): Promise<string | null> {
  const queries = deps.store.admin;
  if (q.startsWith("evt_") && (await queries.getEvent(q))) return q;
  if (q.startsWith("dlv_")) {
    const delivery = await queries.getDelivery(q);
    if (delivery?.eventId) return delivery.eventId;
  }
  const byKey = await deps.store.admin.eventsByIdempotencyKey(q, Object.keys(deps.config().sources));
  return byKey.length === 1 ? byKey[0]! : null;
}

export async function findPage(deps: UiDeps, raw: FindQuery): Promise<Html> {
  const f = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, blank(v)])) as FindQuery;
  const queries = deps.store.admin;
  const page = await queries.listEvents(eventQuery(f));
  const sources = Object.keys(deps.config().sources);
  return html`<form class="filters" method="get" action="/ui/find" role="search">
<label for="q">Id, idempotency key or text in the body<input id="q" name="q" value="${f.q ?? ""}" placeholder="4521"></label>
<label for="source">Source<select id="source" name="source"><option value="">any</option>
${sources.map((s) => html`<option${s === f.source ? html` selected` : ""}>${s}</option>`)}</select></label>
<label for="type">Type<input id="type" name="type" value="${f.type ?? ""}" placeholder="order.created"></label>
<label for="status">Delivery status<select id="status" name="status"><option value="">any</option>
${DELIVERY_STATUSES.map((s) => html`<option${s === f.status ? html` selected` : ""}>${s}</option>`)}</select></label>
<label for="since">Since (ISO-8601)<input id="since" name="since" value="${f.since ?? ""}" placeholder="2026-01-31T00:00:00Z"></label>
<label for="until">Until (ISO-8601)<input id="until" name="until" value="${f.until ?? ""}"></label>
<button class="primary" type="submit">Find</button>
</form>
${page.searchedUntil !== null && page.nextCursor
  ? html`<p class="muted">Searched events received since ${time(iso(page.searchedUntil))}${page.items.length === 0 ? " and none matches" : ""}; older ones are not searched yet.</p>`
  : ""}
${page.items.length === 0
  ? page.nextCursor ? "" : html`<p class="muted">No event matches.</p>`
  : html`<div class="table-wrap"><table>
<thead><tr><th>Event</th><th>Received</th><th>Source</th><th>Type</th><th>Deliveries</th></tr></thead>
<tbody>${page.items.map(
      (e) => html`<tr><td><a class="mono" href="/ui/events/${encodeURIComponent(e.id)}">${e.id}</a></td><td>${time(iso(e.receivedAt))}</td>
<td>${e.source}</td><td>${e.type}</td>
<td>${Object.entries(e.deliveries).map(([status, n]) => html`<span class="state state-${status}">${status} ${n}</span> `)}</td></tr>`,
    )}</tbody></table></div>`}
${page.nextCursor
  ? html`<p class="pager"><a href="/ui/find${query({ ...f, cursor: page.nextCursor })}">${page.searchedUntil === null ? "Next page" : "Search older"}</a></p>`
  : ""}`;
}
