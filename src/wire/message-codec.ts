import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { InvalidInputError } from "../errors/etcd-error.js";
import { WireReader } from "./wire-reader.js";
import { WireWriter } from "./wire-writer.js";

/**
 * A field's type, as descriptor.proto numbers FieldDescriptorProto.Type; only those etcd's
 * messages use. A message-typed field names its message's codec instead (a thunk, so that
 * codecs may refer to each other in any order).
 */
export const ScalarType = {
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  BOOL: 8,
  STRING: 9,
  BYTES: 12,
  UINT32: 13,
  ENUM: 14,
} as const;
export type ScalarType = (typeof ScalarType)[keyof typeof ScalarType];

/** [number, localName, type, repeated (1), oneof's localName]. */
export type FieldSpec =
  | readonly [number, string, ScalarType | (() => AnyMessageCodec)]
  | readonly [number, string, ScalarType | (() => AnyMessageCodec), 0 | 1]
  | readonly [number, string, ScalarType | (() => AnyMessageCodec), 0 | 1, string];

/**
 * Encodes and decodes one message type in protobuf's binary format, without protobuf-es's
 * reflection: generated tables (src/gen/**\/*_codec.ts) drive it, so that a page over grpc-web
 * carries no descriptors. Decoded messages have the shape protobuf-es gives them: every field
 * set, `$typeName`, bigint for 64-bit integers, `{ case, value }` for oneofs.
 */
export interface MessageCodec<Desc extends DescMessage> {
  readonly typeName: Desc["typeName"];
  encode(message: MessageInitShape<Desc>): Uint8Array;
  decode(bytes: Uint8Array): MessageShape<Desc>;
}

// biome-ignore lint/suspicious/noExplicitAny: a codec of any message, for the tables' references
export type AnyMessageCodec = MessageCodec<any>;

type Obj = Record<string, unknown>;

interface Field {
  no: number;
  name: string;
  type: ScalarType | undefined;
  message: (() => Table) | undefined;
  repeated: boolean;
  oneof: string | undefined;
}

interface Table extends AnyMessageCodec {
  readonly byNumber: ReadonlyMap<number, Field>;
  write(w: WireWriter, message: Obj): void;
  /** Reads fields up to end into a message; depth counts the messages it sits in. */
  read(r: WireReader, end: number, into: Obj, depth: number): Obj;
  create(): Obj;
}

/**
 * How deep messages may nest in what is decoded (a Txn holds Txns): deeper input is refused
 * instead of exhausting the stack. etcd's own limit on nested txns is far lower.
 */
export const maxDepth = 100;

/** The codec of one message type, from its generated table. */
export function messageCodec<Desc extends DescMessage>(
  typeName: Desc["typeName"],
  specs: readonly FieldSpec[],
): MessageCodec<Desc> {
  let fields: Field[] | undefined;
  let byNumber: Map<number, Field> | undefined;
  const resolve = () => {
    fields ??= specs.map(([no, name, type, repeated, oneof]) => ({
      no,
      name,
      type: typeof type === "number" ? type : undefined,
      message: typeof type === "function" ? (type as () => Table) : undefined,
      repeated: repeated === 1,
      oneof,
    }));
    byNumber ??= new Map(fields.map((f) => [f.no, f]));
    return fields;
  };
  const table: Table = {
    typeName,
    get byNumber() {
      resolve();
      return byNumber as Map<number, Field>;
    },
    encode(message) {
      const w = new WireWriter();
      table.write(w, message as Obj);
      return w.finish();
    },
    decode(bytes) {
      const r = new WireReader(bytes);
      return table.read(r, bytes.length, table.create(), 0) as MessageShape<Desc>;
    },
    create() {
      const m: Obj = { $typeName: typeName };
      for (const f of resolve()) {
        if (f.oneof !== undefined) m[f.oneof] ??= { case: undefined };
        else if (f.repeated) m[f.name] = [];
        else if (f.message === undefined) m[f.name] = zero(f.type);
      }
      return m;
    },
    write(w, message) {
      for (const f of resolve()) {
        let value: unknown;
        if (f.oneof === undefined) value = message[f.name];
        else {
          const o = message[f.oneof] as { case?: string; value?: unknown } | undefined;
          if (o?.case !== f.name) continue;
          value = o.value;
        }
        if (value === undefined || value === null) continue;
        if (f.repeated) writeRepeated(w, f, value, typeName);
        else writeOne(w, f, value, typeName, f.oneof !== undefined);
      }
    },
    read(r, end, into, depth) {
      if (depth > maxDepth) throw new Error(`${typeName} is nested deeper than ${maxDepth}`);
      const byNo = table.byNumber;
      while (r.pos < end) {
        const at = r.pos;
        const tag = r.uint32();
        const no = tag >>> 3;
        const wireType = tag & 7;
        if (no === 0) throw new Error(`field number 0 at byte ${at} of ${typeName}`);
        const f = byNo.get(no);
        if (!f) {
          r.skip(wireType);
          continue;
        }
        readField(r, f, wireType, into, at, typeName, depth);
      }
      if (r.pos !== end) throw new Error(`${typeName} runs past its end at byte ${r.pos}`);
      return into;
    },
  };
  return table as unknown as MessageCodec<Desc>;
}

function zero(type: ScalarType | undefined): unknown {
  switch (type) {
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return 0n;
    case ScalarType.BOOL:
      return false;
    case ScalarType.STRING:
      return "";
    case ScalarType.BYTES:
      return new Uint8Array(0);
    default:
      return 0;
  }
}

const wireTypeOf = (f: Field) =>
  f.message !== undefined || f.type === ScalarType.STRING || f.type === ScalarType.BYTES ? 2 : 0;

function writeRepeated(w: WireWriter, f: Field, value: unknown, typeName: string): void {
  if (!Array.isArray(value)) throw invalid(typeName, f, value, "an array");
  if (value.length === 0) return;
  if (wireTypeOf(f) === 2) {
    for (const v of value) writeOne(w, f, v, typeName, true);
    return;
  }
  // proto3 packs repeated numbers: one length-delimited run of varints.
  const packed = new WireWriter();
  for (const v of value) writeScalar(packed, f, v, typeName);
  w.tag(f.no, 2);
  w.bytes(packed.finish());
}

/** One value; a default one is left out, as proto3 does, unless the field has presence. */
function writeOne(w: WireWriter, f: Field, value: unknown, typeName: string, always: boolean) {
  if (f.message !== undefined) {
    if (typeof value !== "object" || value === null) throw invalid(typeName, f, value, "a message");
    const inner = new WireWriter();
    f.message().write(inner, value as Obj);
    w.tag(f.no, 2);
    w.bytes(inner.finish());
    return;
  }
  if (!always && isZero(value)) {
    // Still checked: a wrong type must not pass just because it looks empty.
    scratch.reset();
    writeScalar(scratch, f, value, typeName);
    return;
  }
  w.tag(f.no, wireTypeOf(f));
  writeScalar(w, f, value, typeName);
}

const scratch = /*@__PURE__*/ new WireWriter();

const isZero = (v: unknown) =>
  v === 0 || v === 0n || v === false || v === "" || (v instanceof Uint8Array && v.length === 0);

const textEncoder = /*@__PURE__*/ new TextEncoder();

function writeScalar(w: WireWriter, f: Field, value: unknown, typeName: string): void {
  switch (f.type) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw invalid(typeName, f, value, "a string");
      w.bytes(textEncoder.encode(value));
      return;
    case ScalarType.BYTES:
      if (!(value instanceof Uint8Array)) throw invalid(typeName, f, value, "a Uint8Array");
      w.bytes(value);
      return;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") throw invalid(typeName, f, value, "a boolean");
      w.uint32(value ? 1 : 0);
      return;
    case ScalarType.INT64:
    case ScalarType.UINT64: {
      const signed = f.type === ScalarType.INT64;
      const v = toBigInt(value);
      const min = signed ? -(2n ** 63n) : 0n;
      const max = signed ? 2n ** 63n : 2n ** 64n;
      if (v === undefined || v < min || v >= max) {
        throw invalid(
          typeName,
          f,
          value,
          signed ? "a signed 64-bit integer" : "an unsigned 64-bit integer",
        );
      }
      w.uint64(BigInt.asUintN(64, v));
      return;
    }
    case ScalarType.UINT32:
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) {
        throw invalid(typeName, f, value, "an unsigned 32-bit integer");
      }
      w.uint32(value as number);
      return;
    default:
      // INT32 and ENUM
      if (
        !Number.isInteger(value) ||
        (value as number) < -0x80000000 ||
        (value as number) > 0x7fffffff
      ) {
        throw invalid(typeName, f, value, "a signed 32-bit integer");
      }
      w.int32(value as number);
  }
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  // protobuf-es takes numbers and decimal strings for 64-bit fields too.
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

function invalid(typeName: string, f: Field, value: unknown, expected: string): InvalidInputError {
  const shown =
    typeof value === "bigint"
      ? `${value}n`
      : typeof value === "string"
        ? JSON.stringify(value)
        : String(value);
  return new InvalidInputError(
    `${typeName}.${f.name} must be ${expected}, not ${shown.slice(0, 40)}`,
    `${typeName}.${f.name}`,
  );
}

const textDecoder = /*@__PURE__*/ new TextDecoder();

function readField(
  r: WireReader,
  f: Field,
  wireType: number,
  into: Obj,
  at: number,
  typeName: string,
  depth: number,
) {
  const expected = wireTypeOf(f);
  if (f.repeated && expected === 0 && wireType === 2) {
    // A packed run of numbers.
    const end = r.limit();
    const list = into[f.name] as unknown[];
    while (r.pos < end) list.push(readScalar(r, f));
    if (r.pos !== end) throw new Error(`a packed ${typeName}.${f.name} runs past its end`);
    return;
  }
  if (wireType !== expected) {
    throw new Error(
      `${typeName}.${f.name} at byte ${at} has wire type ${wireType}, not ${expected}`,
    );
  }
  let value: unknown;
  if (f.message !== undefined) {
    const codec = f.message();
    const end = r.limit();
    // A message that appears twice is merged, as protobuf does; a repeated one is appended.
    const previous = f.repeated ? undefined : current(into, f);
    value = codec.read(r, end, (previous as Obj | undefined) ?? codec.create(), depth + 1);
  } else value = readScalar(r, f);
  if (f.repeated) (into[f.name] as unknown[]).push(value);
  else if (f.oneof !== undefined) into[f.oneof] = { case: f.name, value };
  else into[f.name] = value;
}

function current(into: Obj, f: Field): unknown {
  if (f.oneof === undefined) return into[f.name];
  const o = into[f.oneof] as { case?: string; value?: unknown };
  return o.case === f.name ? o.value : undefined;
}

function readScalar(r: WireReader, f: Field): unknown {
  switch (f.type) {
    case ScalarType.STRING:
      return textDecoder.decode(r.bytes());
    case ScalarType.BYTES:
      // A view of the message's buffer, as protobuf-es gives it.
      return r.bytes();
    case ScalarType.BOOL:
      return r.bool();
    case ScalarType.INT64:
      return BigInt.asIntN(64, r.uint64());
    case ScalarType.UINT64:
      return r.uint64();
    case ScalarType.UINT32:
      return r.uint32();
    default:
      return r.uint32() | 0;
  }
}
