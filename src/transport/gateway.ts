import { fromConnect } from "./connect-transport.js";
import { createGatewayTransport } from "./gateway/index.js";
import type { TransportFactory } from "./protocol.js";

/**
 * etcd's own JSON gateway over fetch, and its WebSocket gateway for bidi streams: no proxy,
 * but etcd must run with --cors for the page's origin.
 */
export const gatewayTransport: TransportFactory = ({ baseUrl, fetch, webSocket }) => ({
  transport: fromConnect(createGatewayTransport({ baseUrl, fetch, webSocket })),
  // Each WebSocket belongs to its stream and closes with it; fetch keeps nothing open.
  close: () => {},
});
