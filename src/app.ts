import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { BadRequest, errorMessage, Internal, NotFound, PayloadTooLarge, RelayError } from "./errors.ts";
import { healthPlugin, type HealthDeps } from "./health.ts";
import { ingestPlugin, type IngestDeps } from "./ingest/plugin.ts";
import type { Logger } from "./log.ts";
import { openapiViewerPlugin } from "./ops/openapi-viewer.ts";
import { VERSION } from "./version.ts";

export interface AppDeps {
  ingest: IngestDeps;
  health: HealthDeps;
  log: Logger;
  /** Further route groups (admin, metrics), mounted as they are. */
  plugins?: Elysia<any, any, any, any, any, any, any>[];
}

/** The root HTTP app: OpenAPI, every error as {"error": "…", "code": "…"}, and the route groups. Never listens. */
export function createApp(deps: AppDeps) {
  const root: { handle: (request: Request) => Promise<Response> } = { handle: (request) => app.handle(request) };
  let app = new Elysia()
    .use(
      openapi({
        // The document itself lives at /api/openapi; the viewer is Relay's own, at /api/docs (no CDN).
        provider: null,
        specPath: "/api/openapi",
        documentation: {
          info: { title: "Relay", version: VERSION, description: "Self-hosted webhook relay gateway" },
          tags: [
            { name: "ingest", description: "Receiving webhooks" },
            { name: "admin", description: "Keys, events, deliveries, destinations" },
            { name: "operations", description: "Health and metrics" },
          ],
        },
      }),
    )
    .onError({ as: "global" }, ({ code, error, request }) => renderError(code, error, request, deps.log))
    .use(openapiViewerPlugin())
    // The document's former path, kept for existing clients.
    .get("/api/openapi/json", ({ request }): Promise<Response> => root.handle(new Request(new URL("/api/openapi", request.url).href)), {
      detail: { hide: true },
    })
    .use(healthPlugin(deps.health))
    .use(ingestPlugin(deps.ingest));
  for (const plugin of deps.plugins ?? []) app = app.use(plugin) as typeof app;
  return app;
}

/** {"error","code"} with the error's status and headers. */
export function errorResponse(error: RelayError): Response {
  return new Response(JSON.stringify({ error: error.message, code: error.code }), {
    status: error.status,
    headers: { ...error.headers, "content-type": "application/json" },
  });
}

// Answered when even rendering an error failed: a constant, so this path cannot throw.
const LAST_RESORT = '{"error":"internal error","code":"internal"}';
export function lastResort(): Response {
  return new Response(LAST_RESORT, { status: 500, headers: { "content-type": "application/json" } });
}

/** Maps anything thrown inside a route to a JSON answer; never throws, never shows a stack or a host path. */
function renderError(code: unknown, error: unknown, request: Request, log: Logger): Response {
  try {
    if (error instanceof RelayError) return errorResponse(error);
    switch (code) {
      case "NOT_FOUND":
        return errorResponse(new NotFound(`no route for ${request.method} ${pathOf(request.url)}`));
      case "VALIDATION":
        return errorResponse(new BadRequest(validationMessage(error), "invalid_request"));
      case "PARSE":
        return errorResponse(new BadRequest(`malformed body: ${errorMessage(error)}`, "malformed_body"));
    }
    // A sender that hangs up mid-body is not a server fault.
    if (request.signal.aborted) {
      log.debug("client went away", { path: pathOf(request.url) });
      return errorResponse(new BadRequest("request aborted", "aborted"));
    }
    log.error("unhandled error", { error: errorMessage(error), path: pathOf(request.url) });
    return errorResponse(new Internal());
  } catch {
    return lastResort();
  }
}

/** The path of a request URL without parsing it as a URL (the Host part may be anything). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

// RFC 3986 reg-name, IPv4 or a bracketed IPv6 literal, with an optional port.
const HOST = /^(?:[A-Za-z0-9._~%!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The server's fetch handler: a request without a usable Host gets 400, and the router sees a URL whose path starts
 * where Elysia looks for it (it assumes a host of 4+ characters), so routing depends on the path alone.
 */
export function edgeHandler(app: { handle: (request: Request) => Response | Promise<Response> }, maxBodyBytes: number) {
  return (request: Request): Response | Promise<Response> => {
    try {
      const host = request.headers.get("host");
      if (!host || !HOST.test(host)) return errorResponse(new BadRequest("missing or malformed Host header", "bad_host"));
      // Above the hard limit: the same JSON 413 as a source's max_body, before any byte is read.
      if (Number(request.headers.get("content-length") ?? 0) > maxBodyBytes) {
        return errorResponse(new PayloadTooLarge(`body exceeds the server's ${maxBodyBytes}-byte limit`));
      }
      const url = request.url;
      const pathStart = url.indexOf("/", url.indexOf("//") + 2);
      if (pathStart < 0) return errorResponse(new BadRequest("malformed request target", "bad_target"));
      if (url.indexOf("/", 11) !== pathStart) request = new Request(`http://relay.invalid${url.slice(pathStart)}`, request);
      return app.handle(request);
    } catch {
      return lastResort();
    }
  };
}

function validationMessage(error: unknown): string {
  const all = (error as { all?: Array<{ path?: string; summary?: string; message?: string }> }).all;
  if (Array.isArray(all) && all.length > 0) {
    return all.map((e) => `${e.path || "body"}: ${e.summary ?? e.message}`).join("; ");
  }
  return (error as Error).message ?? "invalid request";
}
