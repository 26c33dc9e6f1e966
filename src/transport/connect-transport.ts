import type {
  DescMessage,
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../gen/etcdserverpb/rpc_pb.js";
import type { MethodRef } from "../wire/service-ref.js";
import type { EtcdTransport, TransportCall } from "./protocol.js";

/**
 * A Connect Transport as an EtcdTransport: for the protocols that need protobuf-es's
 * descriptors at run time (the gateway's JSON, connect-node). Each MethodRef is looked up by
 * name among the generated services; grpc-web and grpc use the codecs and never load these.
 */
export function fromConnect(transport: Transport): EtcdTransport {
  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: MethodRef<I, O>,
      call: TransportCall,
      input: MessageInitShape<I>,
    ) {
      const desc = descMethod(method) as DescMethodUnary<I, O>;
      return (await transport.unary(desc, call.signal, call.timeoutMs, call.headers, input))
        .message;
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: MethodRef<I, O>,
      call: TransportCall,
      input: AsyncIterable<MessageInitShape<I>>,
    ) {
      const desc = descMethod(method) as DescMethodStreaming<I, O>;
      return (await transport.stream(desc, call.signal, call.timeoutMs, call.headers, input))
        .message;
    },
  };
}

const cache = new Map<string, DescMethod>();

/**
 * protobuf-es's descriptor of a method. A bidi method called in its server-streaming form
 * (fetch cannot stream a request body) gets a server-streaming descriptor, same path.
 */
export function descMethod(ref: MethodRef): DescMethod {
  const key = `${ref.service}/${ref.name}/${ref.kind}`;
  let desc = cache.get(key);
  if (desc) return desc;
  const service = [KV, Watch, Lease, Cluster, Maintenance, Auth].find(
    (s) => s.typeName === ref.service,
  );
  const found = service?.methods.find((m) => m.name === ref.name);
  if (!found) throw new Error(`no etcd method ${ref.service}/${ref.name}`);
  desc = found.methodKind === ref.kind ? found : ({ ...found, methodKind: ref.kind } as DescMethod);
  cache.set(key, desc);
  return desc;
}
