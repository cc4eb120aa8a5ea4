// The built-in `typed` source kind: `{"type":"order","order":{…}}` and its siblings.
// The accepted shapes are data (TYPED_ENVELOPES) so they can also be published as JSON Schema.

/** A field's expected shape, in JSON Schema vocabulary (`required` is per field here, not a list on the parent). */
export type TypedField =
  | { type: "string"; required?: boolean; minLength?: number }
  | { type: "number"; required?: boolean }
  | { type: "boolean"; required?: boolean }
  | { type: "object"; required?: boolean; properties?: Record<string, TypedField> }
  | { type: "array"; required?: boolean; items: TypedField };

export interface TypedEnvelope {
  /** Reply message for an accepted body. */
  message: string;
  /** Fields of the body besides `type`; unknown extra fields are allowed. */
  properties: Record<string, TypedField>;
  /** When set, the event type is this field's value instead of the `type` value. */
  typeFrom?: string;
}

export type TypedKind = "order" | "customer" | "product" | "event";

const str = { type: "string" } as const;
const num = { type: "number" } as const;

export const TYPED_ENVELOPES: Readonly<Record<TypedKind, TypedEnvelope>> = {
  order: {
    message: "Order data received",
    properties: {
      order: {
        type: "object",
        required: true,
        properties: {
          orderNumber: { type: "string", required: true },
          status: str,
          trackingNumber: str,
          items: {
            type: "array",
            items: {
              type: "object",
              properties: {
                sku: str,
                name: str,
                qty: { type: "number", required: true },
                price: { type: "number", required: true },
              },
            },
          },
          total: num,
          currency: str,
          customer_email: str,
          customerEmail: str,
        },
      },
    },
  },
  customer: {
    message: "Customer data received",
    properties: {
      customer: {
        type: "object",
        required: true,
        properties: {
          email: { type: "string", required: true },
          name: str,
          tier: str,
          tags: { type: "array", items: str },
        },
      },
    },
  },
  product: {
    message: "Product data received",
    properties: {
      product: {
        type: "object",
        required: true,
        properties: {
          sku: { type: "string", required: true },
          name: str,
          price: num,
          stock: num,
        },
      },
    },
  },
  event: {
    message: "Event data received",
    typeFrom: "event",
    properties: {
      event: { type: "string", required: true, minLength: 1 },
      data: { type: "object" },
    },
  },
};

export type TypedResult = { ok: true; type: string; message: string } | { ok: false; errors: string[] };

const KINDS = Object.keys(TYPED_ENVELOPES) as TypedKind[];

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Appends to `errors` every way `value` (at `path`) differs from `field`; null counts as absent. */
function check(field: TypedField, value: unknown, path: string, errors: string[]): void {
  if (value === undefined || value === null) {
    if (field.required) errors.push(`${path}: required`);
    return;
  }
  const actual = kindOf(value);
  if (actual !== field.type) {
    errors.push(`${path}: expected ${field.type}, got ${actual}`);
    return;
  }
  if (field.type === "string" && field.minLength !== undefined && (value as string).length < field.minLength) {
    errors.push(`${path}: must not be empty`);
  } else if (field.type === "object" && field.properties) {
    checkProperties(field.properties, value as Record<string, unknown>, `${path}.`, errors);
  } else if (field.type === "array") {
    (value as unknown[]).forEach((item, i) => check(field.items, item, `${path}[${i}]`, errors));
  }
}

function checkProperties(properties: Record<string, TypedField>, value: Record<string, unknown>, prefix: string, errors: string[]): void {
  for (const [name, field] of Object.entries(properties)) {
    check(field, Object.hasOwn(value, name) ? value[name] : undefined, `${prefix}${name}`, errors);
  }
}

/** Validates a typed body; every problem is reported, with paths like `order.items[1].qty`. */
export function readTypedEnvelope(body: unknown): TypedResult {
  const allowed = `expected one of ${KINDS.join(", ")}`;
  if (!isObject(body)) return { ok: false, errors: [`body: expected object, got ${kindOf(body)}`] };
  const type = body.type;
  if (type === undefined || type === null) return { ok: false, errors: [`type: required (${allowed})`] };
  if (typeof type !== "string") return { ok: false, errors: [`type: expected string, got ${kindOf(type)} (${allowed})`] };
  if (!Object.hasOwn(TYPED_ENVELOPES, type)) {
    return { ok: false, errors: [`type: unknown type ${JSON.stringify(type)}, ${allowed}`] };
  }
  const envelope = TYPED_ENVELOPES[type as TypedKind];
  const errors: string[] = [];
  checkProperties(envelope.properties, body, "", errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    type: envelope.typeFrom ? String(body[envelope.typeFrom]) : type,
    message: envelope.message,
  };
}
