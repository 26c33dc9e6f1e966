import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { EtcdTransport } from "../transport/protocol.js";
import type { MethodRef, ServiceRef } from "../wire/service-ref.js";

/** What one attempt passes to a client: the attempt's signal and the auth header. */
export interface AttemptOptions {
  signal: AbortSignal;
  headers?: HeadersInit;
}

/** A service's unary methods, by local name. */
export type UnaryClient<S extends ServiceRef> = {
  [K in keyof S["methods"] as S["methods"][K] extends MethodRef<DescMessage, DescMessage, "unary">
    ? K
    : never]: S["methods"][K] extends MethodRef<infer I, infer O, "unary">
    ? (input: MessageInitShape<I>, options: AttemptOptions) => Promise<MessageShape<O>>
    : never;
};

/** The unary methods of a service over a transport (streams go to the transport itself). */
export function unaryClient<S extends ServiceRef>(
  service: S,
  transport: EtcdTransport,
): UnaryClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of Object.values(service.methods)) {
    if (method.kind !== "unary") continue;
    client[method.localName] = (input: MessageInitShape<DescMessage>, options: AttemptOptions) =>
      transport.unary(method, options, input);
  }
  return client as UnaryClient<S>;
}
