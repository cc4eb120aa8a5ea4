import type { Config } from "../config/types.ts";
import { maskUrl } from "../config/describe.ts";
import { resolveTarget, type Target } from "../delivery/send.ts";

/** The egress decision for a destination URL now (its host resolved as an attempt would resolve it). */
export async function egressDecision(config: Config, url: string): Promise<Target> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `"${url}" is not a URL` };
  }
  return resolveTarget(parsed, config.egress);
}

/** One line per destination: where an attempt would connect, or why it would be refused. */
export async function egressReport(config: Config): Promise<string> {
  const lines = [`egress (${config.egress?.mode ?? "default"}):`];
  for (const dest of Object.values(config.destinations)) {
    const target = await egressDecision(config, dest.url);
    const verdict = target.ok ? `allowed → ${target.address}` : `refused: ${target.reason}`;
    lines.push(`  ${dest.name} ${maskUrl(dest.url)}: ${verdict}`);
  }
  return lines.join("\n");
}
