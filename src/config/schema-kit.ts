import { type TSchema, Type } from "@sinclair/typebox";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.ts";

// The patterns relay.yaml's values must match, how errors describe them, and the builders schema.ts is written with.

export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]*$";
export const SOURCE_ID_PATTERN = "^[A-Za-z0-9_-]{1,128}$";
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
export const VARIABLE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
export const EVENT_TYPE_PATTERN = "^(?:body\\..+|header\\..+|source)$";
export const STATUS_PATTERN = "^[1-5](?:xx|[0-9]{2})$";
export const POSTGRES_URL_PATTERN = "^postgres(ql)?://";

/** How a value matching each pattern is described in error messages. */
export const PATTERN_HINTS: Record<string, string> = {
  [NAME_PATTERN]: 'letters, digits, "_" and "-", starting with a letter or digit',
  [SOURCE_ID_PATTERN]: '1 to 128 letters, digits, "_" or "-"',
  [HEADER_NAME_PATTERN]: "a valid HTTP header name",
  [VARIABLE_NAME_PATTERN]: 'letters, digits and "_", not starting with a digit',
  [EVENT_TYPE_PATTERN]: '"body.<path>", "header.<name>" or "source"',
  [STATUS_PATTERN]: 'a status such as 200 or a class such as "2xx"',
  [POSTGRES_URL_PATTERN]: "a URL starting with postgres:// or postgresql://",
};

/** A default as the descriptions show it: 10s, 8, [5s, 1m]; `quoted` for names ("UTC"). */
export const shown = (value: string | number | boolean | readonly string[]) => (Array.isArray(value) ? `[${value.join(", ")}]` : String(value));
export const quoted = (value: string) => JSON.stringify(value);

// A number and a unit: a bare number is refused, since `timeout: 10` is surely not 10 ms.
export const duration = (description: string, fallback?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description, ...(fallback === undefined ? {} : { default: fallback }) });

export const size = (description: string, fallback: string) =>
  Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum: 0, description: "bytes" })], {
    description,
    default: fallback,
  });

export const headerName = (description: string) => Type.String({ pattern: HEADER_NAME_PATTERN, description });

export const oneOrMany = <T extends TSchema>(item: T, description: string) =>
  Type.Union([item, Type.Array(item, { minItems: 1 })], { description });

export const literals = <const T extends string>(values: readonly T[], description: string, fallback?: T) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, ...(fallback === undefined ? {} : { default: fallback }) },
  );
