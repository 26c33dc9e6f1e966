import type {
  DescMessage,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";

/** What one attempt passes to a generated client: the attempt's signal and the auth header. */
export interface AttemptOptions {
  signal: AbortSignal;
  headers?: HeadersInit;
}

/** A service's unary methods, by local name, as connect's Client types them. */
export type UnaryClient<S extends DescService> = {
  [K in keyof S["method"] as S["method"][K] extends DescMethodUnary
    ? K
    : never]: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (input: MessageInitShape<I>, options: AttemptOptions) => Promise<MessageShape<O>>
    : never;
};

/**
 * The unary methods of a service over a transport. etcd-web calls only unary methods through
 * clients (streams go to the transport), so this replaces connect's createClient, whose
 * streaming and callback paths a page would carry for nothing.
 */
export function unaryClient<S extends DescService>(
  service: S,
  transport: Transport,
): UnaryClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const unary = method as DescMethodUnary;
    client[method.localName] = async (input: unknown, options: AttemptOptions) =>
      (
        await transport.unary(
          unary,
          options.signal,
          undefined,
          options.headers,
          input as MessageInitShape<DescMessage>,
        )
      ).message;
  }
  return client as UnaryClient<S>;
}
