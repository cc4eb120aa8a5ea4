// The dashboard's static files, compiled into the binary: nothing is fetched from another origin.
import htmx from "htmx.org/dist/htmx.min.js" with { type: "text" };
import icon from "./icon.svg" with { type: "text" };
import css from "./style.css" with { type: "text" };

export interface Asset {
  body: string;
  type: string;
}

/** Served under /ui/assets/<name>; names carry no version, so clients revalidate (short max-age). */
export const ASSETS: Record<string, Asset> = {
  "htmx.min.js": { body: htmx, type: "text/javascript; charset=utf-8" },
  "relay.css": { body: css, type: "text/css; charset=utf-8" },
  "icon.svg": { body: icon, type: "image/svg+xml" },
};
