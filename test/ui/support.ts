import type { Harness } from "../support/harness.ts";

/** A browser-like client of the dashboard on a harness: keeps the session cookie, posts forms. */
export function uiClient(h: Harness) {
  let cookie = "";
  const send = async (method: string, path: string, form?: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
      body = params.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const res = await h.relay.app.handle(new Request(`http://localhost${path}`, { method, body, headers: { ...(cookie ? { cookie } : {}), ...headers } }));
    const set = res.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0]!;
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const client = {
    get: (path: string) => send("GET", path),
    post: (path: string, form: Record<string, string | string[]> = {}, headers?: Record<string, string>) => send("POST", path, form, headers),
    /** The CSRF token of the page at `path`. */
    async csrf(path = "/ui"): Promise<string> {
      const page = await send("GET", path);
      const m = page.text.match(/name="_csrf" value="([^"]+)"/);
      if (!m) throw new Error(`no CSRF token on ${path}: ${page.status} ${page.text.slice(0, 200)}`);
      return m[1]!;
    },
    async signIn(token: string) {
      return send("POST", "/ui/sign-in", { token });
    },
    get cookie() {
      return cookie;
    },
    set cookie(value: string) {
      cookie = value;
    },
  };
  return client;
}
