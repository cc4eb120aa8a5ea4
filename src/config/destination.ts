import { Cron } from "croner";
import { HEADER_NAME, duration, type Ctx } from "./checks.ts";
import { DEFAULT_RETRY, DEFAULTS } from "./defaults.ts";
import { didYouMean, type Issues, type Path } from "./issues.ts";
import type { RawDestination } from "./schema.ts";
import { buildSign } from "./signatures.ts";
import type { AckContract, CircuitConfig, DestinationConfig, DigestConfig, RetryPolicy } from "./types.ts";
// A destination of relay.yaml, checked and normalised: URL, headers, timeout, retry, ack, digest, circuit.

export function buildDestination(name: string, raw: RawDestination, path: Path, c: Ctx): DestinationConfig {
  const at = (...keys: Array<string | number>) => [...path, ...keys];
  if (c.ok(at("url"))) checkUrl(raw.url, at("url"), c.issues);

  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(c.open(at("headers")) ? (raw.headers ?? {}) : {})) {
    if (!HEADER_NAME.test(header)) c.issues.add(at("headers", header), `invalid header name "${header}"`, "key");
    if (!c.ok(at("headers", header))) continue;
    const text = String(value);
    if (/[\r\n\0]/.test(text)) c.issues.add(at("headers", header), "header value must not contain line breaks");
    Object.defineProperty(headers, header, { value: text, enumerable: true, writable: true, configurable: true });
  }

  const sign = raw.sign && c.ok(at("sign")) ? buildSign(raw.sign, at("sign"), c.issues) : undefined;
  const destination: DestinationConfig = {
    name,
    url: raw.url,
    headers,
    timeoutMs: c.ok(at("timeout")) ? duration(raw.timeout ?? DEFAULTS.timeout, at("timeout"), c.issues, { positive: true }) : 0,
    concurrency: raw.concurrency ?? DEFAULTS.concurrency,
    retry: c.ok(at("retry")) ? retry(raw.retry, at("retry"), c.issues) : { kind: "schedule", delaysMs: [] },
    ack: c.ok(at("ack")) ? ack(raw.ack) : { statuses: [] },
    ...(sign ? { sign } : {}),
    ...(raw.event_header !== undefined ? { eventHeader: raw.event_header } : {}),
    ...(raw.id_header !== undefined ? { idHeader: raw.id_header } : {}),
    ...(raw.id_value !== undefined ? { idValue: raw.id_value } : {}),
    ...(raw.timestamp_header !== undefined ? { timestampHeader: raw.timestamp_header } : {}),
    ...(raw.timestamp_format !== undefined ? { timestampFormat: raw.timestamp_format } : {}),
    userAgent: raw.user_agent ?? DEFAULTS.userAgent,
    disableAfterMs: c.ok(at("disable_after")) ? duration(raw.disable_after ?? DEFAULTS.disableAfter, at("disable_after"), c.issues) : 0,
  };
  if (raw.digest && c.open(at("digest"))) {
    const digest = buildDigest(raw.digest, at("digest"), c);
    if (digest) destination.digest = digest;
  }
  if (raw.circuit && c.ok(at("circuit"))) destination.circuit = buildCircuit(raw.circuit, at("circuit"), c.issues);
  return destination;
}

function buildCircuit(raw: NonNullable<RawDestination["circuit"]>, path: Path, issues: Issues): CircuitConfig {
  const probeMs = duration(raw.probe ?? DEFAULTS.circuit.probe, [...path, "probe"], issues, { positive: true });
  const maxProbeMs = duration(raw.max_probe ?? DEFAULTS.circuit.maxProbe, [...path, "max_probe"], issues, { positive: true });
  if (maxProbeMs < probeMs) issues.add([...path, raw.max_probe !== undefined ? "max_probe" : "probe"], "max_probe must not be shorter than probe");
  return { failures: raw.failures ?? DEFAULTS.circuit.failures, probeMs, maxProbeMs };
}

function checkUrl(text: string, path: Path, issues: Issues): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    issues.addIfFirst(path, "not an absolute URL: expected http://… or https://…");
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    issues.add(path, `unsupported scheme "${url.protocol.slice(0, -1)}": expected http or https`);
  }
}

function retry(raw: RawDestination["retry"], path: Path, issues: Issues): RetryPolicy {
  if (raw === undefined) return DEFAULT_RETRY;
  if (Array.isArray(raw)) {
    return { kind: "schedule", delaysMs: raw.map((d, i) => duration(d, [...path, i], issues)) };
  }
  const baseMs = duration(raw.base ?? DEFAULTS.exponential.base, [...path, "base"], issues, { positive: true });
  const maxMs = duration(raw.max ?? DEFAULTS.exponential.max, [...path, "max"], issues, { positive: true });
  if (maxMs < baseMs) issues.add([...path, raw.max !== undefined ? "max" : "base"], "max must not be shorter than base");
  return {
    kind: "exponential",
    attempts: raw.attempts ?? DEFAULTS.exponential.attempts,
    baseMs,
    maxMs,
    jitter: raw.jitter ?? DEFAULTS.exponential.jitter,
  };
}

function ack(raw: RawDestination["ack"]): AckContract {
  const status = raw?.status ?? DEFAULTS.ackStatus;
  const statuses = (Array.isArray(status) ? status : [status]).map(statusRange);
  const body = raw?.body;
  return { statuses, ...(body !== undefined ? { bodies: Array.isArray(body) ? [...body] : [body] } : {}) };
}

/** 201 → [201, 201]; "2xx" → [200, 299]; "204" → [204, 204]. */
function statusRange(status: number | string): [number, number] {
  if (typeof status === "number") return [status, status];
  if (status.endsWith("xx")) {
    const lo = Number(status[0]) * 100;
    return [lo, lo + 99];
  }
  return [Number(status), Number(status)];
}

function buildDigest(raw: NonNullable<RawDestination["digest"]>, path: Path, c: Ctx): DigestConfig | undefined {
  const zonePath = [...path, "timezone"];
  const zone = c.ok(zonePath) ? timeZone(raw.timezone ?? DEFAULTS.digest.timezone) : "UTC";
  if (zone === undefined) {
    c.issues.add(zonePath, `unknown time zone "${raw.timezone}"${didYouMean(String(raw.timezone), Intl.supportedValuesOf("timeZone"))}`);
  }
  const cronProblem = c.ok([...path, "cron"]) ? checkCron(raw.cron, zone ?? "UTC") : "";
  if (cronProblem) c.issues.add([...path, "cron"], cronProblem);
  if (zone === undefined || cronProblem !== null) return undefined;
  return {
    cron: raw.cron,
    timezone: zone,
    maxItems: raw.max_items ?? DEFAULTS.digest.maxItems,
    sendEmpty: raw.send_empty ?? DEFAULTS.digest.sendEmpty,
    body: raw.body ?? DEFAULTS.digest.body,
  };
}

/** The canonical IANA name ("europe/berlin" → "Europe/Berlin"), or undefined when unknown. */
function timeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function checkCron(expression: string, timezone: string): string | null {
  let job: Cron | undefined;
  try {
    job = new Cron(expression, { timezone, paused: true });
    // croner also takes an ISO date as a one-off run; a digest needs a repeating schedule.
    if (job.getPattern() === undefined) return `invalid cron expression "${expression}": expected 5 fields (or 6 with seconds), e.g. "0 6 * * *"`;
    if (job.nextRun() === null) return `cron expression "${expression}" never fires`;
    return null;
  } catch (error) {
    const why = (error as Error).message.replace(/^CronPattern:\s*/, "");
    return `invalid cron expression "${expression}": ${why}`;
  } finally {
    job?.stop();
  }
}
