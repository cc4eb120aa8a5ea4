import { decodeSecret, schemeProblem } from "../signing/hmac.ts";
import { schemeFromPreset } from "../signing/presets.ts";
import type { Issues, Path } from "./issues.ts";
import type { RawSign, RawVerify } from "./schema.ts";
import type { SignatureScheme } from "./types.ts";
// The signature schemes of relay.yaml (a source's `verify`, a destination's `sign`): preset, overrides, secrets.

const FORMAT_KEYS = ["signed_string", "encoding", "value_format", "signature_format"] as const;
const CUSTOM_REQUIRED = ["header", ...FORMAT_KEYS] as const;

/** The preset with the YAML's overrides applied, or a custom scheme when no preset is named. */
export function buildScheme(raw: RawSign | RawVerify, path: Path, issues: Issues): SignatureScheme | undefined {
  let base: SignatureScheme;
  if (raw.preset !== undefined) {
    base = schemeFromPreset(raw.preset);
  } else if (FORMAT_KEYS.every((k) => raw[k] === undefined)) {
    base = schemeFromPreset("standard-webhooks");
  } else {
    const missing = CUSTOM_REQUIRED.filter((k) => raw[k] === undefined);
    if (missing.length > 0) {
      issues.add(path, `a custom signature scheme (no preset) needs ${missing.map((k) => `"${k}"`).join(", ")}; or name a preset`);
      return undefined;
    }
    base = { preset: "custom", header: "", signedString: "", encoding: "hex", valueFormat: "", signatureFormat: "", separator: null, secretFormat: "raw" };
  }
  const scheme: SignatureScheme = {
    ...base,
    ...(raw.header !== undefined ? { header: raw.header } : {}),
    ...(raw.signed_string !== undefined ? { signedString: raw.signed_string } : {}),
    ...(raw.encoding !== undefined ? { encoding: raw.encoding } : {}),
    ...(raw.value_format !== undefined ? { valueFormat: raw.value_format } : {}),
    ...(raw.signature_format !== undefined ? { signatureFormat: raw.signature_format } : {}),
    ...(raw.separator !== undefined ? { separator: raw.separator } : {}),
    ...(raw.id_header !== undefined ? { idHeader: raw.id_header } : {}),
    ...(raw.timestamp_header !== undefined ? { timestampHeader: raw.timestamp_header } : {}),
    ...(raw.secret_format !== undefined ? { secretFormat: raw.secret_format } : {}),
  };
  const problem = schemeProblem(scheme);
  if (problem) {
    // The signing module names fields in camelCase; the admin wrote snake_case.
    issues.add(path, `signature scheme: ${problem.replace(/[a-z][A-Z]/g, (pair) => `${pair[0]}_${pair[1].toLowerCase()}`)}`);
    return undefined;
  }
  return scheme;
}

/** Newest first; each one must be usable with the scheme's secret format. Never echoes a secret. */
export function buildSecrets(raw: RawSign | RawVerify, scheme: SignatureScheme | undefined, path: Path, issues: Issues): string[] | undefined {
  if (raw.secret !== undefined && raw.secrets !== undefined) {
    issues.add(path, 'give either "secret" or "secrets", not both');
    return undefined;
  }
  if (raw.secret === undefined && raw.secrets === undefined) {
    issues.add(path, 'missing required key "secret" (or "secrets" during a rotation)');
    return undefined;
  }
  const list = raw.secrets ?? [raw.secret as string];
  let ok = true;
  list.forEach((secret, i) => {
    const at = raw.secrets ? [...path, "secrets", i] : [...path, "secret"];
    if (secret === "") {
      issues.addIfFirst(at, "secret is empty");
      ok = false;
      return;
    }
    if (!scheme) return;
    try {
      decodeSecret(secret, scheme.secretFormat);
    } catch (error) {
      issues.addIfFirst(at, (error as Error).message);
      ok = false;
    }
  });
  return ok ? [...list] : undefined;
}

export function buildSign(raw: RawSign, path: Path, issues: Issues) {
  const scheme = buildScheme(raw, path, issues);
  const secrets = buildSecrets(raw, scheme, path, issues);
  return scheme && secrets ? { scheme, secrets } : undefined;
}
