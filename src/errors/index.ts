export {
  ClusterError,
  ContextError,
  type ContextReason,
  type EndpointFailure,
  EtcdError,
  type EtcdErrorKind,
  InvalidInputError,
  isEtcdError,
  ResponseError,
} from "./etcd-error.js";
export { codeName, type EtcdReason, etcdReason, GrpcError } from "./grpc-error.js";
