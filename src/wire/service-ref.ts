import type { DescMessage } from "@bufbuild/protobuf";

/** How a method streams, as protobuf-es names it. */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/**
 * A message type, by name. Desc is the protobuf-es descriptor's type, for the message's
 * TypeScript shape; nothing of it exists at run time. A transport finds what it encodes with
 * by the name: a codec (transport/message-codecs.ts) or a descriptor (connect-transport.ts).
 */
export interface MessageRef<Desc extends DescMessage = DescMessage> {
  readonly typeName: string;
  /** Never set: it carries the type. */
  readonly $desc?: Desc;
}

/** One etcd method as a transport needs it: its path, how it streams, and its messages. */
export interface MethodRef<
  I extends DescMessage = DescMessage,
  O extends DescMessage = DescMessage,
  K extends MethodKind = MethodKind,
> {
  /** The service's full name: "etcdserverpb.KV". */
  readonly service: string;
  /** The method's name in the proto: "Range". */
  readonly name: string;
  /** The method's name in code: "range". */
  readonly localName: string;
  readonly kind: K;
  readonly input: MessageRef<I>;
  readonly output: MessageRef<O>;
}

/** A service's methods, by local name. */
export interface ServiceRef<M extends Record<string, MethodRef> = Record<string, MethodRef>> {
  readonly typeName: string;
  readonly methods: M;
}

/** [name, kind, input type name, output type name], as the generated tables list a method. */
export type MethodSpec = readonly [string, MethodKind, string, string];

/** A service's refs, from its generated table; M comes from the declared type. */
export function serviceRef<M extends Record<string, MethodRef>>(
  typeName: string,
  specs: Readonly<Record<string, MethodSpec>>,
): ServiceRef<M> {
  const methods: Record<string, MethodRef> = {};
  for (const [localName, [name, kind, input, output]] of Object.entries(specs)) {
    methods[localName] = {
      service: typeName,
      name,
      localName,
      kind,
      input: { typeName: input },
      output: { typeName: output },
    };
  }
  return { typeName, methods: methods as M };
}

/** The server-streaming form of a bidi method: same path, one request body. */
export function serverStreaming<I extends DescMessage, O extends DescMessage>(
  method: MethodRef<I, O>,
): MethodRef<I, O, "server_streaming"> {
  return { ...method, kind: "server_streaming" };
}
