import type { DescMessage } from "@bufbuild/protobuf";
import * as auth from "../gen/authpb/auth_codec.js";
import * as rpc from "../gen/etcdserverpb/rpc_codec.js";
import * as kv from "../gen/mvccpb/kv_codec.js";
import type { AnyMessageCodec, MessageCodec } from "../wire/message-codec.js";
import type { MessageRef } from "../wire/service-ref.js";

let byTypeName: Map<string, AnyMessageCodec> | undefined;

/**
 * The generated binary codec of a message type, for the protocols that speak protobuf's binary
 * format (grpc-web, grpc). Importing this brings every etcd message's codec.
 */
export function codecOf<D extends DescMessage>(ref: MessageRef<D>): MessageCodec<D> {
  byTypeName ??= new Map(
    [auth, rpc, kv].flatMap((m) => Object.values(m).map((c: AnyMessageCodec) => [c.typeName, c])),
  );
  const codec = byTypeName.get(ref.typeName);
  if (!codec) throw new Error(`etcd-web has no codec for ${ref.typeName}`);
  return codec;
}
