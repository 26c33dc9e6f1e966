// etcd-web-bridge, Node only: gRPC-Web and Connect from browsers to etcd's gRPC.
export {
  type Bridge,
  type BridgeOptions,
  type BridgeStats,
  createBridge,
  type NodeRequest,
  type NodeResponse,
} from "./bridge.js";
export { type ConnectionTimeouts, defaultTimeouts } from "./connection-limits.js";
export {
  allowedMethods,
  allowedRequestHeaders,
  exposedResponseHeaders,
  OriginPolicy,
  preflightMaxAgeSeconds,
} from "./cors.js";
export { bridgedMethods, etcdServices } from "./etcd-methods.js";
export { defaultLimits, type RequestLimits } from "./limits.js";
export {
  defaultMethods,
  MethodPolicy,
  type MethodPolicyOptions,
  readOnlyMethods,
} from "./method-policy.js";
export {
  type BridgeServer,
  type BridgeServerOptions,
  defaultListen,
  defaultServerLimits,
  parseListen,
  startBridge,
} from "./server.js";
export { type EtcdBridgePluginOptions, etcdBridge } from "./vite-plugin.js";
