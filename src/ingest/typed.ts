import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";

// The built-in `typed` source kind: `{"type":"order","order":{…}}` and its siblings.
// Senders may put any structure inside; only the `type` and the object it names are essential.
// Each schema serves both the ingest check and the OpenAPI document.

export type TypedKind = "order" | "customer" | "product" | "event";

export interface TypedEnvelope {
  /** Reply message for an accepted body. */
  message: string;
  /** The whole body's schema; fields not named in it are kept and allowed. */
  schema: TObject;
  /** When set, the event type is this field's value instead of the `type` value. */
  typeFrom?: string;
}

const anyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });

function envelope(kind: TypedKind, properties: Record<string, TSchema>, description: string): TObject {
  return Type.Object({ type: Type.Literal(kind), ...properties }, { additionalProperties: true, title: kind, description });
}

export const TYPED_ENVELOPES: Readonly<Record<TypedKind, TypedEnvelope>> = {
  order: {
    message: "Order data received",
    schema: envelope("order", { order: anyObject("any fields, e.g. order_number, status, tracking_number, items, total") }, "an order"),
  },
  customer: {
    message: "Customer data received",
    schema: envelope("customer", { customer: anyObject("any fields, e.g. email, name, company, tier, tags") }, "a customer"),
  },
  product: {
    message: "Product data received",
    schema: envelope("product", { product: anyObject("any fields, e.g. sku, name, price, in_stock") }, "a product"),
  },
  event: {
    message: "Event data received",
    typeFrom: "event",
    schema: envelope(
      "event",
      {
        event: Type.String({ minLength: 1, description: "the event's name; it becomes the event type" }),
        data: Type.Optional(anyObject("any fields")),
      },
      "any other event",
    ),
  },
};

/** What a typed source accepts: any one of the envelopes. */
export const TypedBodySchema = Type.Union(
  Object.values(TYPED_ENVELOPES).map((e) => e.schema),
  { title: "typed envelope" },
);

export type TypedResult = { ok: true; type: string; message: string } | { ok: false; errors: string[] };

const KINDS = Object.keys(TYPED_ENVELOPES) as TypedKind[];
const CHECKERS = Object.fromEntries(KINDS.map((k) => [k, TypeCompiler.Compile(TYPED_ENVELOPES[k].schema)])) as Record<
  TypedKind,
  TypeCheck<TObject>
>;

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** `/order/items/0` → `order.items[0]`. */
function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), "");
}

/** Validates a typed body; every problem is reported with its path (`order: expected object, got string`). */
export function readTypedEnvelope(body: unknown): TypedResult {
  const allowed = `expected one of ${KINDS.join(", ")}`;
  if (kindOf(body) !== "object") return { ok: false, errors: [`body: expected object, got ${kindOf(body)}`] };
  const type = (body as Record<string, unknown>).type;
  if (type === undefined || type === null) return { ok: false, errors: [`type: required (${allowed})`] };
  if (typeof type !== "string") return { ok: false, errors: [`type: expected string, got ${kindOf(type)} (${allowed})`] };
  if (!Object.hasOwn(TYPED_ENVELOPES, type)) {
    return { ok: false, errors: [`type: unknown type ${JSON.stringify(type)}, ${allowed}`] };
  }
  const kind = type as TypedKind;
  const checker = CHECKERS[kind];
  if (!checker.Check(body)) {
    const errors: string[] = [];
    for (const e of checker.Errors(body)) {
      const path = dotted(e.path) || "body";
      const line = e.value === undefined ? `${path}: required` : describe(path, e.schema, e.value);
      if (!errors.includes(line)) errors.push(line);
    }
    return { ok: false, errors };
  }
  const envelope = TYPED_ENVELOPES[kind];
  return {
    ok: true,
    type: envelope.typeFrom ? String((body as Record<string, unknown>)[envelope.typeFrom]) : type,
    message: envelope.message,
  };
}

function describe(path: string, schema: TSchema, value: unknown): string {
  if (schema.type === "string" && typeof value === "string") return `${path}: must not be empty`;
  return `${path}: expected ${schema.type}, got ${kindOf(value)}`;
}
