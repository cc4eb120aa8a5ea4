import type { SignatureScheme } from "../config/types.ts";

// The four schemes receivers and senders use in the wild, as values of one mechanism.
export const signaturePresets = {
  "standard-webhooks": {
    preset: "standard-webhooks",
    header: "webhook-signature",
    signedString: "{id}.{timestamp}.{body}",
    encoding: "base64",
    valueFormat: "{signatures}",
    signatureFormat: "v1,{signature}",
    separator: " ",
    idHeader: "webhook-id",
    timestampHeader: "webhook-timestamp",
    secretFormat: "whsec",
  },
  sha256: {
    preset: "sha256",
    header: "X-Hub-Signature-256",
    signedString: "{body}",
    encoding: "hex",
    valueFormat: "{signatures}",
    signatureFormat: "sha256={signature}",
    separator: null,
    secretFormat: "raw",
    reserialized: true,
  },
  stripe: {
    preset: "stripe",
    header: "X-Webhook-Signature",
    signedString: "{timestamp}.{body}",
    encoding: "hex",
    valueFormat: "t={timestamp},{signatures}",
    signatureFormat: "v1={signature}",
    separator: ",",
    secretFormat: "raw",
    reserialized: true,
  },
  hex: {
    preset: "hex",
    header: "X-VAI-Signature",
    signedString: "{body}",
    encoding: "hex",
    valueFormat: "{signatures}",
    signatureFormat: "{signature}",
    separator: null,
    secretFormat: "raw",
  },
} as const satisfies Record<string, SignatureScheme>;

export type PresetName = keyof typeof signaturePresets;

export const presetNames = Object.keys(signaturePresets) as PresetName[];

/** A fresh, mutable copy of a preset with some fields replaced (e.g. a custom header name). */
export function schemeFromPreset(name: PresetName, overrides: Partial<SignatureScheme> = {}): SignatureScheme {
  return { ...signaturePresets[name], ...overrides };
}
