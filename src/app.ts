import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { RelayError } from "./errors.ts";
import { healthPlugin, type HealthDeps } from "./health.ts";
import { ingestPlugin, type IngestDeps } from "./ingest/plugin.ts";
import type { Logger } from "./log.ts";
import { openapiViewerPlugin } from "./openapi-viewer.ts";
import { VERSION } from "./version.ts";

export interface AppDeps {
  ingest: IngestDeps;
  health: HealthDeps;
  log: Logger;
  /** Further route groups (admin, metrics), mounted as they are. */
  plugins?: Elysia<any, any, any, any, any, any, any>[];
}

/** The root HTTP app: OpenAPI, every error as {"error": "…"}, and the route groups. Never listens. */
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
    .onError({ as: "global" }, ({ code, error, request }) => {
      if (error instanceof RelayError) {
        // Some errors carry response headers (a 429's Retry-After).
        return errorResponse(error.status, error.message, (error as RelayError & { headers?: Record<string, string> }).headers);
      }
      switch (code) {
        case "NOT_FOUND":
          return errorResponse(404, `no route for ${request.method} ${new URL(request.url).pathname}`);
        case "VALIDATION":
          return errorResponse(400, validationMessage(error));
        case "PARSE":
          return errorResponse(400, `malformed body: ${(error as Error).message}`);
        default:
          deps.log.error("unhandled error", { error: String(error), path: new URL(request.url).pathname });
          return errorResponse(500, "internal error");
      }
    })
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

export function errorResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: message }), { status, headers: { ...headers, "content-type": "application/json" } });
}

function validationMessage(error: unknown): string {
  const all = (error as { all?: Array<{ path?: string; summary?: string; message?: string }> }).all;
  if (Array.isArray(all) && all.length > 0) {
    return all.map((e) => `${e.path || "body"}: ${e.summary ?? e.message}`).join("; ");
  }
  return (error as Error).message ?? "invalid request";
}
