export { signatureHeaders } from "./sign.ts";
export { verifySignature, type VerifyResult } from "./verify.ts";
export { signaturePresets, presetNames, schemeFromPreset, type PresetName } from "./presets.ts";
export { schemeProblem, decodeSecret } from "./hmac.ts";
