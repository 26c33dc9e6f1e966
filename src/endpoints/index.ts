export {
  type EndpointHealth,
  type EndpointListener,
  EndpointPool,
  type EndpointState,
} from "./endpoint-pool.js";
export { parseEndpoint, parseEndpoints } from "./endpoint-url.js";
export {
  type AttemptVerdict,
  type FailoverOptions,
  type RetryOptions,
  withFailover,
} from "./failover.js";
