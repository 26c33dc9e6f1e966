import { optionalDependency } from "../../optional-dependency.node.js";
import { lazyTransport } from "../lazy.js";
import type { TransportFactory } from "../protocol.js";
import { nodeTls } from "./tls.node.js";

/**
 * `grpcClient: "connect-node"`: connect-node is an optional peer dependency (it declares
 * Node >= 22, and only this option and the bridge use it), loaded on the first call.
 */
export const connectNodeTransport: TransportFactory = lazyTransport(async () => {
  const { connectNodeGrpc } = await optionalDependency(
    "@connectrpc/connect-node",
    () => import("./connect-node.node.js"),
    'grpcClient "connect-node"',
    "@connectrpc/connect-node@2.2.0",
  );
  return ({ baseUrl, tls, maxResponseBytes }) =>
    connectNodeGrpc(baseUrl, nodeTls(tls), maxResponseBytes);
});
