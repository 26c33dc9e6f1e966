import type {
  EndpointTransport,
  EtcdTransport,
  TransportFactory,
  TransportSettings,
} from "./protocol.js";

/**
 * A protocol whose code is loaded on its first call (a dynamic import): a bundler splits it
 * into a chunk of its own, so a page carries only the protocol it speaks, while
 * `new Etcd({ protocol })` stays synchronous. A load that fails (the chunk did not arrive)
 * fails the call, and the next call tries again.
 */
export function lazyTransport(load: () => Promise<TransportFactory>): TransportFactory {
  let loading: Promise<TransportFactory> | undefined;
  const factory = () => {
    loading ??= load().catch((e: unknown) => {
      loading = undefined;
      throw e;
    });
    return loading;
  };
  return (settings) => lazyEndpoint(factory, settings);
}

function lazyEndpoint(
  factory: () => Promise<TransportFactory>,
  settings: TransportSettings,
): EndpointTransport {
  let inner: EndpointTransport | undefined;
  let closed = false;
  const ready = async (): Promise<EtcdTransport> => {
    if (inner) return inner.transport;
    const make = await factory();
    if (closed) throw new Error("the transport was closed");
    inner ??= make(settings);
    return inner.transport;
  };
  const transport: EtcdTransport = {
    unary: (method, call, input) =>
      inner
        ? inner.transport.unary(method, call, input)
        : ready().then((t) => t.unary(method, call, input)),
    stream: (method, call, input) =>
      inner
        ? inner.transport.stream(method, call, input)
        : ready().then((t) => t.stream(method, call, input)),
  };
  return {
    transport,
    close: () => {
      closed = true;
      inner?.close();
    },
  };
}
