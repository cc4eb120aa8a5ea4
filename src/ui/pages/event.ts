import { attemptView, deliveryView, iso } from "../../admin/kit.ts";
import type { Session } from "../../auth/sessions.ts";
import type { DestinationConfig } from "../../config/types.ts";
import { NotFound } from "../../errors.ts";
import type { DeliveryDetail } from "../../store/admin-queries.ts";
import type { UiDeps } from "../deps.ts";
import { html, time, type Html } from "../html.ts";
import { csrfField } from "../layout.ts";

// Event: what came in, and for each delivery what went out and every answer — the view of GET /api/events/:id.

const CREDENTIAL = /authorization|cookie|token|secret|signature|api[-_]?key|password/i;

/** Stored headers are allow-listed already; anything credential-shaped that slipped through is still not shown. */
export function redactHeaders(headers: Record<string, string>): Array<[string, string]> {
  return Object.entries(headers).map(([name, value]) => [name, CREDENTIAL.test(name) ? "[redacted]" : value]);
}

/** Names of the headers a delivery to this destination is signed with; never a secret. */
export function signatureHeaders(dest: DestinationConfig | undefined): string[] {
  const scheme = dest?.sign?.scheme;
  if (!scheme) return [];
  return [scheme.header, scheme.idHeader, scheme.timestampHeader].filter((h): h is string => Boolean(h));
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export async function eventPage(deps: UiDeps, id: string, session: Session): Promise<{ title: string; body: Html }> {
  const found = await deps.store.admin.getEvent(id);
  if (!found) throw new NotFound("unknown event");
  const { event, deliveries } = found;
  const destinations = deps.config().destinations;
  return {
    title: `Event ${event.id}`,
    body: html`<dl class="facts">
<dt>Source</dt><dd>${event.source}</dd><dt>Type</dt><dd>${event.type}</dd>
<dt>Received</dt><dd>${time(iso(event.receivedAt))}</dd><dt>Idempotency key</dt><dd class="mono">${event.idempotencyKey ?? "–"}</dd>
</dl>
<form method="post" action="/ui/events/${encodeURIComponent(event.id)}/replay">${csrfField(session)}<button type="submit">Replay the event</button></form>
<h2>Received headers</h2>
<div class="table-wrap"><table><tbody>
${redactHeaders(event.headers).map(([k, v]) => html`<tr><th scope="row" class="mono plain">${k}</th><td class="mono">${v}</td></tr>`)}
</tbody></table></div>
<h2>Received body</h2>
<pre>${pretty(event.body)}</pre>
<h2>Deliveries (${deliveries.length})</h2>
${deliveries.map((d) => deliverySection(d, destinations[d.destination], session))}`,
  };
}

function deliverySection(d: DeliveryDetail, dest: DestinationConfig | undefined, session: Session): Html {
  const v = deliveryView(d);
  const signed = signatureHeaders(dest);
  return html`<section class="card" aria-label="Delivery ${v.id}" data-delivery="${v.id}">
<h3 class="mono">${v.destination} · <span class="state state-${v.status}">${v.status}</span></h3>
<dl class="facts">
<dt>Delivery</dt><dd class="mono">${v.id}</dd><dt>Route</dt><dd>${v.route}</dd>
<dt>Attempts</dt><dd>${v.attempts}</dd><dt>Next attempt</dt><dd>${time(v.nextAttemptAt)}</dd>
<dt>Delivered</dt><dd>${time(v.deliveredAt)}</dd>
<dt>Signature headers</dt><dd class="mono">${signed.length > 0 ? signed.join(", ") : "none"}</dd>
${v.lastError ? html`<dt>Last error</dt><dd class="mono">${v.lastError}</dd>` : ""}
</dl>
${v.status === "dead"
  ? html`<form method="post" action="/ui/deliveries/${encodeURIComponent(v.id)}/retry">${csrfField(session)}<button class="primary" type="submit">Retry this delivery</button></form>`
  : ""}
<details><summary>Body sent</summary><pre>${pretty(d.body)}</pre></details>
<div class="table-wrap"><table>
<thead><tr><th>Started</th><th class="num">ms</th><th class="num">Status</th><th>Answer (first 1 KB)</th><th>Error</th></tr></thead>
<tbody>${d.history.length === 0
  ? html`<tr><td colspan="5" class="muted">No attempt yet.</td></tr>`
  : d.history.map(attemptView).map(
      (a) => html`<tr><td>${time(a.startedAt)}</td><td class="num">${a.durationMs}</td><td class="num">${a.statusCode ?? "–"}</td>
<td><pre>${a.response ?? ""}</pre></td><td class="mono">${a.error ?? "–"}</td></tr>`,
    )}</tbody></table></div>
</section>`;
}
