import type { Session } from "../auth/sessions.ts";
import { html, type Html } from "./html.ts";

// The page frame: navigation, sign-out, and the one script (htmx, served by Relay itself).

export const NAV = [
  ["now", "/ui", "Now"],
  ["find", "/ui/find", "Find"],
  ["dead", "/ui/dead", "Dead letters"],
  ["digests", "/ui/digests", "Digests"],
  ["keys", "/ui/keys", "Keys"],
  ["config", "/ui/config", "Config"],
] as const;

export type Section = (typeof NAV)[number][0];

/** Forbids inline scripts and styles, and every origin but Relay's own. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// Keeps htmx from injecting a <style> (blocked by the CSP) and from evaluating attribute code.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyCacheSize: 0 });

export interface Notice {
  ok: boolean;
  text: string;
}

/** The hidden field every state-changing form carries. */
export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}

function head(title: string): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${title} · Relay</title>
<link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/relay.css">
<script src="/ui/assets/htmx.min.js" defer></script>
</head>`;
}

export function layout(opts: { title: string; section: Section | null; session: Session; notice?: Notice | null; body: Html }): Html {
  const { title, section, session, notice, body } = opts;
  return html`${head(title)}
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<span class="brand">Relay</span>
<nav aria-label="Sections"><ul>
${NAV.map(([key, href, label]) => html`<li><a href="${href}"${key === section ? html` aria-current="page"` : ""}>${label}</a></li>`)}
</ul></nav>
<form method="post" action="/ui/sign-out">${csrfField(session)}<button type="submit">Sign out</button></form>
</header>
<main id="main">
<h1>${title}</h1>
${notice ? html`<p class="notice ${notice.ok ? "ok" : "bad"}" role="status">${notice.text}</p>` : ""}
${body}
</main>
</body>
</html>`;
}

export function signInPage(error: string | null): Html {
  return html`${head("Sign in")}
<body>
<main id="main" class="signin">
<h1>Relay</h1>
${error ? html`<p class="notice bad" role="alert">${error}</p>` : ""}
<form method="post" action="/ui/sign-in">
<label for="token">Admin token or API key with scope admin
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus></label>
<button class="primary" type="submit">Sign in</button>
</form>
</main>
</body>
</html>`;
}
