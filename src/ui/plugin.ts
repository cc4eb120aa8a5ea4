import { Elysia } from "elysia";
import { keySource } from "../auth/keys.ts";
import type { Session } from "../auth/sessions.ts";
import { errorMessage, NotFound, RelayError } from "../errors.ts";
import { ASSETS } from "./assets.ts";
import type { UiDeps } from "./deps.ts";
import { html, query, type Html } from "./html.ts";
import { CSP, layout, signInPage, type Section } from "./layout.ts";
import { configPage } from "./pages/config.ts";
import { confirmDiscardPage, confirmRetryPage, deadCounts, deadPage } from "./pages/dead.ts";
import { digestsPage } from "./pages/digests.ts";
import { eventPage } from "./pages/event.ts";
import { exactMatch, findPage } from "./pages/find.ts";
import { keysPage, UNBOUND } from "./pages/keys.ts";
import { nowPage, nowTable } from "./pages/now.ts";
import { clearedCookie, csrfValid, sameOrigin, sessionCookie, sessionOf } from "./session.ts";

// The operator dashboard under /ui: server-rendered pages over the admin views; every change is a POST form with a CSRF token.

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  // same-origin: the browser still sends Origin on our own forms (no-referrer would make it "null").
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

type Form = Record<string, string | string[] | undefined>;

function htmlResponse(body: Html, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body.text, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { ...SECURITY_HEADERS, location, "cache-control": "no-store", ...headers } });
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function uiPlugin(deps: UiDeps) {
  const by = (s: Session) => `ui:${s.principal.kind}`;

  /** The caller's live session; a key revoked since sign-in ends it. */
  const current = async (request: Request): Promise<Session | null> => {
    const session = await sessionOf(deps.sessions, request);
    if (session?.principal.kind === "api-key" && (await deps.keys.find(session.principal.key.id))?.revokedAt !== null) {
      await deps.sessions.end(session.id);
      return null;
    }
    return session;
  };

  const errorPage = (session: Session, error: unknown, section: Section | null): Response => {
    const status = error instanceof RelayError ? error.status : 500;
    if (status === 500) deps.log.error("dashboard error", { error: errorMessage(error) });
    const text = status === 500 ? "internal error" : (error as Error).message;
    return htmlResponse(layout({ title: status === 404 ? "Not found" : "Cannot show this", section, session, body: html`<p class="notice bad" role="alert">${text}</p>` }), status);
  };

  /** A page behind sign-in. */
  const page = (section: Section | null, title: string, render: (session: Session, request: Request) => Promise<Html | { title: string; body: Html }> | Html) =>
    async ({ request }: { request: Request }) => {
      const session = await current(request);
      if (!session) return redirect("/ui/sign-in");
      try {
        const out = await render(session, request);
        const { title: t, body } = out instanceof Object && "body" in out ? out : { title, body: out as Html };
        const notice = session.notice ?? null;
        session.notice = undefined;
        if (notice) await deps.sessions.save(session);
        return htmlResponse(layout({ title: t, section, session, notice, body }));
      } catch (error) {
        return errorPage(session, error, section);
      }
    };

  /** A state-changing POST: signed in, same origin, with the session's CSRF token; answers with a redirect (or a page). */
  const action = (
    run: (session: Session, form: Form, params: Record<string, string>, request: Request) => Promise<string | Response> | string | Response,
  ) =>
    async ({ request, body, params }: { request: Request; body: unknown; params: Record<string, string> }) => {
      const session = await current(request);
      if (!session) return htmlResponse(signInPage("Sign in first."), 401);
      const form = (body ?? {}) as Form;
      if (!sameOrigin(request) || !csrfValid(session, one(form._csrf))) {
        deps.log.warn("dashboard request refused: CSRF token missing or wrong", { path: new URL(request.url).pathname });
        return htmlResponse(layout({ title: "Refused", section: null, session, body: html`<p class="notice bad" role="alert">Refused: this form is stale or did not come from this dashboard. Reload the page and try again.</p>` }), 403);
      }
      try {
        const out = await run(session, form, params, request);
        if (session.notice) await deps.sessions.save(session);
        return typeof out === "string" ? redirect(out) : out;
      } catch (error) {
        if (!(error instanceof RelayError)) return errorPage(session, error, null);
        session.notice = { ok: false, text: error.message };
        await deps.sessions.save(session);
        return redirect(request.headers.get("referer")?.startsWith(new URL("/ui", request.url).href) ? request.headers.get("referer")! : "/ui");
      }
    };

  const findRoute = page("find", "Find", (_s, request) => findPage(deps, Object.fromEntries(new URL(request.url).searchParams)));

  /** The dead deliveries a bulk action confirmed; `changed` is the confirmation to show again when their count moved. */
  const confirmedSet = async (session: Session, form: Form, verb: "retry" | "discard") => {
    const destination = one(form.destination) || undefined;
    const counts = await deadCounts(deps, destination);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    if (String(total) === one(form.expected)) return { destination, counts, total, changed: null };
    session.notice = { ok: false, text: `The count changed to ${total} since you looked; confirm again.` };
    return { destination, counts, total, changed: `/ui/dead/${verb}${query({ destination })}` };
  };

  const configured = (name: string) => {
    const dest = deps.config().destinations[name];
    if (!dest) throw new NotFound(`unknown destination "${name}"`);
    return dest;
  };

  return new Elysia({ name: "ui" })
    // server.ui: false (read per request, so a reload applies): /ui answers like any unknown path.
    .onBeforeHandle(({ request }) => {
      if (deps.config().server.ui === false) throw new NotFound(`no route for ${request.method} ${new URL(request.url).pathname}`);
    })
    .get("/ui/assets/:name", ({ params }) => {
      const asset = Object.hasOwn(ASSETS, params.name) ? ASSETS[params.name] : undefined;
      if (!asset) return new Response("not found", { status: 404, headers: SECURITY_HEADERS });
      return new Response(asset.body, { headers: { ...SECURITY_HEADERS, "content-type": asset.type, "cache-control": "public, max-age=300" } });
    })
    .get("/ui/sign-in", async ({ request }) => ((await current(request)) ? redirect("/ui") : htmlResponse(signInPage(null))))
    .post("/ui/sign-in", async ({ request, body }) => {
      if (!sameOrigin(request)) return htmlResponse(signInPage("Refused: the form did not come from this dashboard."), 403);
      const token = one(((body ?? {}) as Form).token)?.trim() ?? "";
      try {
        const principal = await deps.guard.requireAdmin(new Request(request.url, { headers: { authorization: `Bearer ${token}` } }));
        const session = await deps.sessions.start(principal);
        deps.log.info("dashboard sign-in", { by: principal.kind, ...(principal.kind === "api-key" ? { key: principal.key.id } : {}) });
        return redirect("/ui", { "set-cookie": sessionCookie(request, session.id, Math.floor(deps.sessions.ttlMs / 1000)) });
      } catch (error) {
        const status = error instanceof RelayError ? error.status : 401;
        return htmlResponse(signInPage(status === 403 ? "This key lacks the admin scope." : status === 429 ? error instanceof Error ? error.message : "Too many attempts." : "Wrong token or key."), status);
      }
    })
    .post(
      "/ui/sign-out",
      action(async (session, _form, _params, request) => {
        await deps.sessions.end(session.id);
        return redirect("/ui/sign-in", { "set-cookie": clearedCookie(request) });
      }),
    )
    .get("/ui", page("now", "Now", (s) => nowPage(deps, s)))
    .get("/ui/now/table", async ({ request }) => {
      const session = await current(request);
      // An expired session turns the refreshing table into a link to sign in again.
      if (!session) return htmlResponse(html`<p class="notice bad"><a href="/ui/sign-in">Signed out: sign in again.</a></p>`);
      return htmlResponse(await nowTable(deps, session));
    })
    .get("/ui/find", async ({ request }) => {
      const q = Object.fromEntries(new URL(request.url).searchParams);
      const text = q.q?.trim();
      // An exact event id, delivery id or idempotency key opens its event at once.
      if (text && !q.cursor && (await current(request))) {
        const id = await exactMatch(deps, text);
        if (id) return redirect(`/ui/events/${encodeURIComponent(id)}`);
      }
      return findRoute({ request });
    })
    .get("/ui/events/:id", page("find", "Event", (s, request) => eventPage(deps, decodeURIComponent(new URL(request.url).pathname.slice("/ui/events/".length)), s)))
    .get(
      "/ui/dead",
      page("dead", "Dead letters", (s, request) => {
        const q = new URL(request.url).searchParams;
        return deadPage(deps, { destination: q.get("destination") || undefined, cursor: q.get("cursor") || undefined }, s);
      }),
    )
    .get("/ui/dead/retry", page("dead", "Retry dead letters", (s, request) => confirmRetryPage(deps, new URL(request.url).searchParams.get("destination") || undefined, s)))
    .get(
      "/ui/dead/discard",
      page("dead", "Discard dead letters", (s, request) => {
        const q = new URL(request.url).searchParams;
        return confirmDiscardPage(deps, { delivery: q.get("delivery") || undefined, destination: q.get("destination") || undefined }, s);
      }),
    )
    .get("/ui/digests", page("digests", "Digests", (s) => digestsPage(deps, s)))
    .get("/ui/keys", page("keys", "Keys", (s) => keysPage(deps, s, null)))
    .get("/ui/config", page("config", "Config", () => configPage(deps)))
    .post(
      "/ui/destinations/:name/:verb",
      action(async (session, _form, { name, verb }) => {
        const dest = configured(name);
        if (verb === "pause" || verb === "resume") {
          const state = verb === "pause" ? deps.pause(name) : deps.resume(name);
          deps.log.info(`destination ${verb}d`, { destination: name, by: by(session) });
          session.notice = { ok: true, text: `${name}: ${verb}d (now ${state}).` };
        } else if (verb === "test") {
          const r = await deps.admin.sendTest(dest, by(session));
          session.notice = r.delivered
            ? { ok: true, text: `Test to ${name} delivered (${r.status}, ${r.durationMs} ms).` }
            : { ok: false, text: `Test to ${name} not delivered: ${r.error ?? `status ${r.status}`}` };
        } else throw new NotFound(`no action ${verb}`);
        return "/ui";
      }),
    )
    .post(
      "/ui/deliveries/:id/retry",
      action(async (session, _form, { id }) => {
        const d = await deps.admin.retry(id, by(session));
        session.notice = { ok: true, text: `Delivery ${d.id} is back in line.` };
        return d.eventId ? `/ui/events/${encodeURIComponent(d.eventId)}` : "/ui/dead";
      }),
    )
    .post(
      "/ui/events/:id/replay",
      action(async (session, _form, { id }) => {
        const r = await deps.admin.replay(id, by(session));
        session.notice = { ok: true, text: `Replayed: ${r.deliveries.length} new ${r.deliveries.length === 1 ? "delivery" : "deliveries"}.` };
        return `/ui/events/${encodeURIComponent(id)}`;
      }),
    )
    .post(
      "/ui/dead/retry",
      action(async (session, form) => {
        const { destination, counts, total, changed } = await confirmedSet(session, form, "retry");
        if (changed) return changed;
        const queries = deps.store.admin;
        let retried = 0;
        for (const name of counts.keys()) {
          if (!deps.config().destinations[name]) continue;
          retried += await queries.retryDead(name, deps.clock.now());
        }
        deps.log.info("dead deliveries retried", { destination, count: retried, by: by(session) });
        if (retried > 0) deps.wake();
        session.notice = { ok: true, text: `${retried} of ${total} dead ${total === 1 ? "delivery is" : "deliveries are"} back in line.` };
        return `/ui/dead${query({ destination })}`;
      }),
    )
    .post(
      "/ui/dead/discard",
      action(async (session, form) => {
        const delivery = one(form.delivery);
        if (delivery) {
          const d = await deps.admin.discard(delivery, by(session));
          session.notice = { ok: true, text: `Delivery ${d.id} discarded.` };
          return "/ui/dead";
        }
        const { destination, counts, changed } = await confirmedSet(session, form, "discard");
        if (changed) return changed;
        let discarded = 0;
        // Removed destinations too: their dead deliveries can be given up even though they cannot be retried.
        for (const name of counts.keys()) discarded += await deps.admin.discardDead(name, by(session));
        session.notice = { ok: true, text: `${discarded} dead ${discarded === 1 ? "delivery" : "deliveries"} discarded.` };
        return `/ui/dead${query({ destination })}`;
      }),
    )
    .post(
      "/ui/digests/:destination/flush",
      action(async (session, _form, { destination }) => {
        const r = await deps.flush(destination);
        deps.log.info("digest flushed", { destination, items: r.items, by: by(session) });
        session.notice = { ok: true, text: r.items === 0 ? `${destination}: nothing held, nothing sent.` : `${destination}: ${r.items} items sent in ${r.digests.length} ${r.digests.length === 1 ? "digest" : "digests"}.` };
        return "/ui/digests";
      }),
    )
    .post(
      "/ui/keys",
      action(async (session, form) => {
        const scopes = all(form.scopes);
        // The admin API's binding rule: blank follows it, "_unbound" asks for a key without a source.
        const picked = one(form.source);
        const source = keySource(deps.config().sources, scopes, picked === UNBOUND ? null : picked || undefined);
        const rate = one(form.rateLimitPerMinute);
        const created = await deps.keys.createKey(
          { name: one(form.name) ?? "", scopes, rateLimitPerMinute: rate ? Number(rate) : undefined, source },
          deps.clock.now(),
        );
        deps.log.info("api key created", { id: created.id, name: created.record.name, scopes: created.record.scopes, source, by: by(session) });
        // Answered directly, never through a redirect or a stored notice: the key exists in this response only.
        return htmlResponse(layout({ title: "Keys", section: "keys", session, body: await keysPage(deps, session, created) }), 201);
      }),
    )
    .post(
      "/ui/keys/:id/revoke",
      action(async (session, _form, { id }) => {
        if (!(await deps.keys.revoke(id, deps.clock.now()))) throw new NotFound("unknown API key");
        await deps.sessions.endForKey(id);
        deps.log.info("api key revoked", { id, by: by(session) });
        session.notice = { ok: true, text: `Key ${id} revoked.` };
        return "/ui/keys";
      }),
    );
}
