// What both entries export, apart from the Etcd class that each binds to its runtime.
export * from "./endpoints/index.js";
export * from "./errors/index.js";
export type { Bytes } from "./internal/bytes.js";
export type { CallOptions } from "./internal/call-options.js";
export * from "./recipes/index.js";
export type { GrpcClient, Protocol, TlsOptions } from "./transport/protocol.js";
export * from "./v3/index.js";
export {
  type LiveChange,
  LiveSnapshot,
  LiveView,
  type LiveViewOptions,
  type LiveViewState,
} from "./v3/live-view.js";
