#!/usr/bin/env node
// protoc-gen-etcd-wire: for each .proto, beside protoc-gen-es's `<name>_pb.ts`, a `<name>_codec.ts`
// with a binary codec table per message, and a `<name>_ref.ts` with each service's methods and
// each enum's values (src/wire/ reads both). The v3 client and grpc-web then need none of
// protobuf-es's embedded descriptors and reflection (see src/wire/message-codec.ts); only the
// gateway's JSON and connect-node load those. Run by `buf generate`.
import { ScalarType } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, runNodeJs } from "@bufbuild/protoplugin";

/** The scalar types etcd's messages use; anything else stops generation with its name. */
const supported = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.INT32,
  ScalarType.BOOL,
  ScalarType.STRING,
  ScalarType.BYTES,
  ScalarType.UINT32,
]);
const ENUM = 14;

const codecName = (f, message) => f.importSchema(message, true).name.replace(/Schema$/, "Codec");

function fieldSpec(f, file, field) {
  const where = `${field.parent.typeName}.${field.name}`;
  if (field.fieldKind === "map") throw new Error(`${where}: map fields are not supported`);
  if (
    field.presence === 1 /* EXPLICIT */ &&
    field.oneof === undefined &&
    field.message === undefined
  ) {
    throw new Error(`${where}: fields with explicit presence are not supported`);
  }
  let type;
  if (field.message) {
    const name = codecName(f, field.message);
    const codec =
      field.message.file === file ? name : f.import(name, `./${field.message.file.name}_codec.js`);
    type = ["() => ", codec];
  } else if (field.enum) type = [String(ENUM)];
  else if (supported.has(field.scalar)) type = [String(field.scalar)];
  else throw new Error(`${where}: scalar type ${ScalarType[field.scalar]} is not supported`);
  const repeated = field.fieldKind === "list" ? 1 : 0;
  const tail = field.oneof ? `, ${repeated}, "${field.oneof.localName}"` : repeated ? ", 1" : "";
  return [`[${field.number}, "${field.localName}", `, ...type, `${tail}]`];
}

function allMessages(file) {
  const out = [];
  const visit = (m) => {
    out.push(m);
    for (const n of m.nestedMessages) visit(n);
  };
  for (const m of file.messages) visit(m);
  return out;
}

function allEnums(file) {
  return [...file.enums, ...allMessages(file).flatMap((m) => m.nestedEnums)];
}

function generateTs(schema) {
  for (const file of schema.files) {
    generateCodecs(schema, file);
    generateRefs(schema, file);
  }
}

/** `<name>_codec.ts`: a binary codec per message, for grpc-web and grpc (src/wire/). */
function generateCodecs(schema, file) {
  const f = schema.generateFile(`${file.name}_codec.ts`);
  f.preamble(file);
  // Relative to the output root (src/gen), as protoplugin takes file paths.
  const messageCodec = f.import("messageCodec", "../wire/message-codec.js");
  const MessageCodec = f.import("MessageCodec", "../wire/message-codec.js", true);
  for (const message of allMessages(file)) {
    f.print(
      f.export("const", codecName(f, message)),
      ": ",
      MessageCodec,
      "<typeof ",
      f.importSchema(message, true),
      "> = /*@__PURE__*/ ",
      messageCodec,
      "(",
      JSON.stringify(message.typeName),
      ", [",
    );
    for (const field of message.fields) f.print("  ", ...fieldSpec(f, file, field), ",");
    f.print("]);");
    f.print("");
  }
}

/**
 * `<name>_ref.ts`: each service's methods by name and kind, and each enum's values, for the v3
 * client. Neither loads a codec nor a descriptor, so that each protocol's chunk brings its own.
 */
function generateRefs(schema, file) {
  const f = schema.generateFile(`${file.name}_ref.ts`);
  f.preamble(file);
  const serviceRef = f.import("serviceRef", "../wire/service-ref.js");
  const MethodRef = f.import("MethodRef", "../wire/service-ref.js", true);
  const ServiceRef = f.import("ServiceRef", "../wire/service-ref.js", true);
  // Enums as plain objects with protobuf-es's member names and numbers: code that needs an
  // enum's values imports them from here, not from the _pb file with its descriptors.
  for (const e of allEnums(file)) {
    const shape = f.importShape(e);
    f.print(
      f.export("const", shape.name),
      " = {",
      e.values.map((v) => ` ${v.localName}: ${v.number}`).join(","),
      " } as const satisfies Record<string, ",
      shape,
      ">;",
    );
    f.print(f.export("type", shape.name), " = ", shape, ";");
    f.print("");
  }
  for (const service of file.services) {
    f.print(f.export("const", service.name), ": ", ServiceRef, "<{");
    for (const m of service.methods) {
      f.print(
        `  ${m.localName}: `,
        MethodRef,
        "<typeof ",
        f.importSchema(m.input, true),
        ", typeof ",
        f.importSchema(m.output, true),
        `, "${m.methodKind}">;`,
      );
    }
    f.print("}> = /*@__PURE__*/ ", serviceRef, `(${JSON.stringify(service.typeName)}, {`);
    for (const m of service.methods) {
      f.print(
        `  ${m.localName}: ["${m.name}", "${m.methodKind}", "${m.input.typeName}", "${m.output.typeName}"],`,
      );
    }
    f.print("});");
    f.print("");
  }
}

runNodeJs(
  createEcmaScriptPlugin({
    name: "protoc-gen-etcd-wire",
    version: "v1",
    generateTs,
  }),
);
