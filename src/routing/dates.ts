import { asNumber } from "./match.ts";

// Dates for templates: ISO strings or epoch numbers in, formatted in any IANA time zone out. Pure.

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch milliseconds of an ISO string or an epoch number (below 1e11 it is read as seconds); null when unreadable. */
export function epochMs(value: unknown): number | null {
  const n = asNumber(value);
  if (n !== null) return Math.abs(n) < 1e11 ? n * 1000 : n;
  if (typeof value !== "string") return null;
  const m = LOCAL_DATE_TIME.exec(value.trim());
  // A date-time without an offset is UTC here, never the server's local time.
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? "Z"}`) : Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

const DATE_TOKENS = ["YYYY", "SSS", "MM", "DD", "HH", "mm", "ss"] as const;

/** Formats with tokens YYYY MM DD HH mm ss SSS (text in [brackets] is literal); "iso" is ISO-8601 UTC. */
export function formatDate(ms: number, format: string, timeZone: string): string {
  if (format === "iso") return isoTime(ms);
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const values: Record<(typeof DATE_TOKENS)[number], string> = {
    YYYY: parts.year.padStart(4, "0"),
    MM: parts.month,
    DD: parts.day,
    HH: parts.hour === "24" ? "00" : parts.hour,
    mm: parts.minute,
    ss: parts.second,
    SSS: String(new Date(ms).getUTCMilliseconds()).padStart(3, "0"),
  };
  let out = "";
  let i = 0;
  while (i < format.length) {
    if (format[i] === "[") {
      const close = format.indexOf("]", i);
      if (close > i) {
        out += format.slice(i + 1, close);
        i = close + 1;
        continue;
      }
    }
    const token = DATE_TOKENS.find((t) => format.startsWith(t, i));
    if (token) {
      out += values[token];
      i += token.length;
    } else {
      out += format[i];
      i++;
    }
  }
  return out;
}
