import { iso } from "../../admin/kit.ts";
import type { Session } from "../../auth/sessions.ts";
import type { UiDeps } from "../deps.ts";
import { html, time, type Html } from "../html.ts";
import { csrfField } from "../layout.ts";

// Digests: per digest destination, the open window, what it holds, when it closes, and the windows sent before.

const RECENT = 10;

/** A time as the destination's own time zone reads it, e.g. "2026-02-01 09:00 Europe/Paris". */
export function inZone(ms: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${timezone}`;
}

export async function digestsPage(deps: UiDeps, session: Session): Promise<Html> {
  const table = deps.store.digests;
  const held = new Map((await deps.admin.destinations()).destinations.map((d) => [d.name, d.held]));
  const jobs = new Map(deps.digestJobs().map((j) => [j.destination, j.nextRunAt]));
  const digestDestinations = Object.values(deps.config().destinations).filter((d) => d.digest);
  if (digestDestinations.length === 0) return html`<p class="muted">No destination has a digest schedule.</p>`;
  const sections: Html[] = [];
  for (const dest of digestDestinations) {
    const { cron, timezone } = dest.digest!;
    const lastEnd = await table.lastClosedWindowEnd(dest.name);
    const oldest = await table.oldestHeldAt(dest.name);
    const next = jobs.get(dest.name) ?? null;
    const recent = await table.recent(dest.name, RECENT);
    sections.push(html`<section class="card" aria-label="Digest ${dest.name}" data-digest="${dest.name}">
<h2>${dest.name}</h2>
<dl class="facts">
<dt>Schedule</dt><dd class="mono">${cron} (${timezone})</dd>
<dt>Open window since</dt><dd>${lastEnd !== null ? inZone(lastEnd, timezone) : oldest !== null ? `first item ${inZone(oldest, timezone)}` : "–"}</dd>
<dt>Items held</dt><dd data-held="${held.get(dest.name) ?? 0}">${held.get(dest.name) ?? 0}</dd>
<dt>Next close</dt><dd>${next === null ? "–" : inZone(next, timezone)}</dd>
</dl>
<form method="post" action="/ui/digests/${encodeURIComponent(dest.name)}/flush">${csrfField(session)}<button class="primary" type="submit">Flush now</button></form>
<h3>Recent windows</h3>
${recent.length === 0
  ? html`<p class="muted">No window closed yet.</p>`
  : html`<div class="table-wrap"><table>
<thead><tr><th>Window end</th><th class="num">Part</th><th class="num">Items</th><th>Delivery</th><th>Status</th><th>Last error</th></tr></thead>
<tbody>${recent.map(
      (r) => html`<tr><td>${inZone(r.windowEnd, timezone)}<div class="muted">${time(iso(r.windowEnd))}</div></td><td class="num">${r.part}/${r.parts}</td>
<td class="num">${r.items}</td><td class="mono">${r.deliveryId ?? "not sent (empty)"}</td>
<td>${r.status ? html`<span class="state state-${r.status}">${r.status}</span>` : "–"}</td><td class="mono">${r.lastError ?? "–"}</td></tr>`,
    )}</tbody></table></div>`}
</section>`);
  }
  return html`${sections}`;
}
