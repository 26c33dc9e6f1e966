import type { DescMessage } from "@bufbuild/protobuf";
import type { MessageCodec } from "./message-codec.js";

/** How a method streams, as protobuf-es names it. */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/**
 * One etcd method as a transport needs it: its path, how it streams, and its messages'
 * codecs. The message descriptors are types only; a transport that needs them at run time
 * (JSON for the gateway, connect-node) looks them up by name (transport/descriptors.ts).
 */
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
  readonly input: MessageCodec<I>;
  readonly output: MessageCodec<O>;
}

/** A service's methods, by local name. */
export interface ServiceRef<M extends Record<string, MethodRef> = Record<string, MethodRef>> {
  readonly typeName: string;
  readonly methods: M;
}

/** [name, kind, input codec, output codec], as the generated tables list a method. */
export type MethodSpec = readonly [
  string,
  MethodKind,
  MessageCodec<DescMessage>,
  MessageCodec<DescMessage>,
];

/** A service's refs, from its generated table; M comes from the declared type. */
export function serviceRef<M extends Record<string, MethodRef>>(
  typeName: string,
  specs: Readonly<Record<string, MethodSpec>>,
): ServiceRef<M> {
  const methods: Record<string, MethodRef> = {};
  for (const [localName, [name, kind, input, output]] of Object.entries(specs)) {
    methods[localName] = { service: typeName, name, localName, kind, input, output };
  }
  return { typeName, methods: methods as M };
}

/** The server-streaming form of a bidi method: same path, one request body. */
export function serverStreaming<I extends DescMessage, O extends DescMessage>(
  method: MethodRef<I, O>,
): MethodRef<I, O, "server_streaming"> {
  return { ...method, kind: "server_streaming" };
}
