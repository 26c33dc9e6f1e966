// Transactions: comparisons, operations and a builder whose commit() runs the RPC once.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { InvalidInputError } from "../errors/etcd-error.js";
import type {
  CompareSchema,
  RequestOpSchema,
  ResponseOp,
  TxnRequestSchema,
  TxnResponse,
} from "../gen/etcdserverpb/rpc_pb.js";
import { Compare_CompareResult, Compare_CompareTarget } from "../gen/etcdserverpb/rpc_ref.js";
import { type Bytes, checkBytes } from "../internal/bytes.js";
import { header, type ResponseHeader } from "./key-value.js";
import {
  checkSize,
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  deleteResult,
  type GetResult,
  int64,
  type KeyRangeOptions,
  keyRange,
  type PutOptions,
  type PutResult,
  putRequest,
  putResult,
  type RangeOptions,
  rangeRequest,
  rangeResult,
} from "./kv.js";

export type CompareOperator = "=" | "!=" | "<" | ">";

const operators: Record<CompareOperator, Compare_CompareResult> = {
  "=": Compare_CompareResult.EQUAL,
  "!=": Compare_CompareResult.NOT_EQUAL,
  "<": Compare_CompareResult.LESS,
  ">": Compare_CompareResult.GREATER,
};

/** One condition of a transaction, made by the functions of `compare`. */
export class Comparison {
  /** Bytes of keys and values, for the request size check. */
  readonly payloadBytes: number;

  /** @internal */
  constructor(readonly message: MessageInitShape<typeof CompareSchema>) {
    const u = message.targetUnion;
    this.payloadBytes =
      rangeBytes(message.key ?? new Uint8Array(), message.rangeEnd) +
      (u?.case === "value" ? u.value.length : 8);
  }
}

function comparison(
  key: Bytes,
  operator: CompareOperator,
  target: Compare_CompareTarget,
  targetUnion: NonNullable<MessageInitShape<typeof CompareSchema>["targetUnion"]>,
  range: KeyRangeOptions,
): Comparison {
  const result = operators[operator];
  if (result === undefined) {
    throw new InvalidInputError(
      `compare: operator must be one of =, !=, <, >; got ${String(operator)}`,
      "operator",
    );
  }
  return new Comparison({ ...keyRange(key, range, "compare"), result, target, targetUnion });
}

type NumericTarget = "version" | "createRevision" | "modRevision" | "lease";

const numericTargets: Record<NumericTarget, Compare_CompareTarget> = {
  version: Compare_CompareTarget.VERSION,
  createRevision: Compare_CompareTarget.CREATE,
  modRevision: Compare_CompareTarget.MOD,
  lease: Compare_CompareTarget.LEASE,
};

/** A comparison of one of a key's int64 fields. */
const numeric =
  (field: NumericTarget) =>
  (key: Bytes, operator: CompareOperator, n: number | bigint, range: KeyRangeOptions = {}) =>
    comparison(
      key,
      operator,
      numericTargets[field],
      { case: field, value: int64(n, field) },
      range,
    );

/**
 * Conditions for `txn().if(...)`. Each compares one key (or, with `range`, every key in a
 * range) against a value: `compare.version("k", "=", 0)` holds when "k" does not exist.
 */
export const compare = {
  value: (key: Bytes, operator: CompareOperator, value: Bytes, range: KeyRangeOptions = {}) =>
    comparison(
      key,
      operator,
      Compare_CompareTarget.VALUE,
      { case: "value", value: checkBytes(value, "value") },
      range,
    ),
  version: numeric("version"),
  createRevision: numeric("createRevision"),
  modRevision: numeric("modRevision"),
  lease: numeric("lease"),
};

type OpKind = "get" | "put" | "delete" | "txn";

/** One operation of a transaction, made (and checked) by the functions of `op`. */
export class TxnOp {
  /** @internal */
  constructor(
    readonly kind: OpKind,
    /** Builds the message to send; the size limit is checked over the whole txn. */
    readonly build: (maxRequestBytes: number) => MessageInitShape<typeof RequestOpSchema>,
    /** Bytes of keys and values, for the request size check. */
    readonly payloadBytes: number,
  ) {}
}

/** Bytes of a request's key and range end. */
function rangeBytes(key: Uint8Array, rangeEnd: Uint8Array | undefined): number {
  return key.length + (rangeEnd?.length ?? 0);
}

export interface NestedTxn {
  compare?: readonly Comparison[];
  success?: readonly TxnOp[];
  failure?: readonly TxnOp[];
}

/** Operations for `txn().then(...)` and `.else(...)`, checked as they are made. */
export const op = {
  get: (key: Bytes, options: RangeOptions = {}): TxnOp => {
    const range = keyRange(key, options, "get");
    const request = rangeRequest(key, options);
    return new TxnOp(
      "get",
      () => ({ request: { case: "requestRange", value: request } }),
      rangeBytes(range.key, range.rangeEnd),
    );
  },
  put: (key: Bytes, value: Bytes, options: PutOptions = {}): TxnOp => {
    // Checked now; the size limit is checked over the whole txn when it is sent.
    const request = putRequest(key, value, options, Number.POSITIVE_INFINITY);
    const size = checkBytes(key, "key").length + checkBytes(value, "value").length;
    return new TxnOp("put", () => ({ request: { case: "requestPut", value: request } }), size);
  },
  delete: (key: Bytes, options: DeleteOptions = {}): TxnOp => {
    const range = keyRange(key, options, "delete");
    const request = deleteRequest(key, options);
    return new TxnOp(
      "delete",
      () => ({ request: { case: "requestDeleteRange", value: request } }),
      rangeBytes(range.key, range.rangeEnd),
    );
  },
  txn: (t: NestedTxn): TxnOp => {
    const parts = [...(t.compare ?? []), ...(t.success ?? []), ...(t.failure ?? [])];
    return new TxnOp(
      "txn",
      (max) => ({
        request: {
          case: "requestTxn",
          value: txnMessage(t.compare ?? [], t.success ?? [], t.failure ?? [], max),
        },
      }),
      parts.reduce((n, p) => n + p.payloadBytes, 0),
    );
  },
};

export type OpResult =
  | ({ type: "get" } & GetResult)
  | ({ type: "put" } & PutResult)
  | ({ type: "delete" } & DeleteResult)
  | ({ type: "txn" } & TxnResult);

export interface TxnResult {
  header: ResponseHeader;
  /** The comparisons all held, so the `then` operations ran (else the `else` ones). */
  succeeded: boolean;
  responses: OpResult[];
}

/** The whole request, checked against etcd's request size limit. */
export function txnRequest(
  ifs: readonly Comparison[],
  thens: readonly TxnOp[],
  elses: readonly TxnOp[],
  maxRequestBytes: number,
): MessageInitShape<typeof TxnRequestSchema> {
  const message = txnMessage(ifs, thens, elses, maxRequestBytes);
  checkSize(
    [...ifs, ...thens, ...elses].reduce((n, p) => n + p.payloadBytes, 0),
    maxRequestBytes,
    "txn",
  );
  return message;
}

function txnMessage(
  ifs: readonly Comparison[],
  thens: readonly TxnOp[],
  elses: readonly TxnOp[],
  maxRequestBytes: number,
): MessageInitShape<typeof TxnRequestSchema> {
  for (const c of ifs) {
    if (!(c instanceof Comparison)) {
      throw new InvalidInputError("txn: if() takes comparisons made with compare.*", "if");
    }
  }
  for (const o of [...thens, ...elses]) {
    if (!(o instanceof TxnOp)) {
      throw new InvalidInputError("txn: then() and else() take operations made with op.*", "then");
    }
  }
  return {
    compare: ifs.map((c) => c.message),
    success: thens.map((o) => o.build(maxRequestBytes)),
    failure: elses.map((o) => o.build(maxRequestBytes)),
  };
}

export function txnResult(res: TxnResponse): TxnResult {
  return {
    header: header(res.header, "txn"),
    succeeded: res.succeeded,
    responses: res.responses.map(opResult),
  };
}

function opResult(r: ResponseOp): OpResult {
  switch (r.response.case) {
    case "responseRange":
      return { type: "get", ...rangeResult(r.response.value) };
    case "responsePut":
      return { type: "put", ...putResult(r.response.value) };
    case "responseDeleteRange":
      return { type: "delete", ...deleteResult(r.response.value) };
    case "responseTxn":
      return { type: "txn", ...txnResult(r.response.value) };
    default:
      return { type: "get", ...rangeResult({ kvs: [], more: false, count: 0n } as never) };
  }
}

/**
 * A transaction under construction, read like Go's If/Then/Else:
 *
 *     const r = await etcd.txn().if(compare.version("k", "=", 0)).then(op.put("k", "v")).else(op.get("k")).commit()
 *
 * commit() sends it once: calling it again returns the same promise, and the builder is
 * frozen after it, so nothing added later can silently go unsent. (TypeScript refuses to
 * await the builder itself because of its then(); a plain-JavaScript `await` of it commits
 * it, once, rather than hanging.)
 */
export class Txn {
  private readonly ifs: Comparison[] = [];
  private readonly thens: TxnOp[] = [];
  private readonly elses: TxnOp[] = [];
  private sent: Promise<TxnResult> | undefined;

  /** @internal */
  constructor(
    private readonly send: (txn: {
      ifs: readonly Comparison[];
      thens: readonly TxnOp[];
      elses: readonly TxnOp[];
    }) => Promise<TxnResult>,
  ) {}

  /** Adds conditions; the txn succeeds when all of them hold. */
  if(...comparisons: Comparison[]): this {
    this.unsent("if");
    this.ifs.push(...comparisons);
    return this;
  }

  /** Adds operations to run when every condition holds. */
  // biome-ignore lint/suspicious/noThenProperty: Go's Then; see the class comment for await.
  then(...ops: TxnOp[]): this;
  // biome-ignore lint/suspicious/noThenProperty: Go's Then; see the class comment for await.
  then(...args: unknown[]): unknown {
    if (args.some((a) => typeof a === "function")) {
      // Called by `await` (thenable resolution): commit, once.
      return this.commit().then(
        args[0] as ((v: TxnResult) => unknown) | undefined,
        args[1] as ((r: unknown) => unknown) | undefined,
      );
    }
    this.unsent("then");
    this.thens.push(...(args as TxnOp[]));
    return this;
  }

  else(...ops: TxnOp[]): this {
    this.unsent("else");
    this.elses.push(...ops);
    return this;
  }

  /** Sends the transaction, once. */
  commit(): Promise<TxnResult> {
    // Bad input (e.g. over the size limit) rejects the promise rather than throwing.
    this.sent ??= Promise.resolve().then(() =>
      this.send({ ifs: this.ifs, thens: this.thens, elses: this.elses }),
    );
    return this.sent;
  }

  private unsent(method: string): void {
    if (this.sent) {
      throw new InvalidInputError(`txn: ${method}() after it was sent; build a new txn`, method);
    }
  }
}
