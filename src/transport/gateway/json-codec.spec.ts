import { create, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResponseError } from "../../errors/etcd-error.js";
import {
  Compare_CompareTarget,
  LeaseGrantResponseSchema,
  MemberListResponseSchema,
  RangeRequest_SortOrder,
  RangeRequestSchema,
  RangeResponseSchema,
  StatusResponseSchema,
  TxnRequestSchema,
  TxnResponseSchema,
  WatchRequestSchema,
  WatchResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType } from "../../gen/mvccpb/kv_pb.js";
import type { ResponseSource } from "./error-mapping.js";
import { decodeMessage, decodeStreamMessage, encodeRequest, parseJson } from "./json-codec.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const source: ResponseSource = {
  endpoint: "http://etcd:2379",
  url: "http://etcd:2379/v3/kv/range",
  status: 200,
  contentType: "application/json",
};
const header = {
  cluster_id: "324952591200643719",
  member_id: "3319814642761637952",
  revision: "5",
  raft_term: "2",
};

describe("encodeRequest", () => {
  it("writes proto field names, int64 as strings, bytes as base64 and enums by name", () => {
    const json = encodeRequest(
      RangeRequestSchema,
      create(RangeRequestSchema, {
        key: enc("foo"),
        rangeEnd: enc("fop"),
        revision: 9007199254740993n,
        sortOrder: RangeRequest_SortOrder.DESCEND,
        keysOnly: true,
        minModRevision: 0n,
      }),
    );
    expect(JSON.parse(json)).toEqual({
      key: "Zm9v",
      range_end: "Zm9w",
      revision: "9007199254740993",
      sort_order: "DESCEND",
      keys_only: true,
    });
  });

  it("writes oneofs of a nested txn under their proto names", () => {
    const json = encodeRequest(
      TxnRequestSchema,
      create(TxnRequestSchema, {
        compare: [
          {
            key: enc("k"),
            target: Compare_CompareTarget.VALUE,
            targetUnion: { case: "value", value: new Uint8Array() },
          },
        ],
        success: [
          {
            request: {
              case: "requestTxn",
              value: { success: [{ request: { case: "requestPut", value: { key: enc("n") } } }] },
            },
          },
        ],
      }),
    );
    expect(JSON.parse(json)).toEqual({
      compare: [{ key: "aw==", target: "VALUE", value: "" }],
      success: [{ request_txn: { success: [{ request_put: { key: "bg==" } }] } }],
    });
  });

  it("writes an empty request as {} and a progress request as an empty object", () => {
    expect(encodeRequest(RangeRequestSchema, create(RangeRequestSchema))).toBe("{}");
    const progress = create(WatchRequestSchema, {
      requestUnion: { case: "progressRequest", value: {} },
    });
    expect(encodeRequest(WatchRequestSchema, progress)).toBe('{"progress_request":{}}');
  });
});

// Bodies as etcd 3.4.23's gateway wrote them.
describe("decodeMessage", () => {
  it("reads a Range with kvs", () => {
    const res = decodeMessage(
      RangeResponseSchema,
      {
        header,
        kvs: [
          { key: "Zm9v", create_revision: "2", mod_revision: "3", version: "2", value: "YmF6" },
        ],
        count: "1",
      },
      source,
    );
    expect(res.header?.memberId).toBe(3319814642761637952n);
    expect(res.count).toBe(1n);
    expect(dec(res.kvs[0]?.key)).toBe("foo");
    expect(dec(res.kvs[0]?.value)).toBe("baz");
    expect(res.kvs[0]?.modRevision).toBe(3n);
    expect(res.kvs[0]?.lease).toBe(0n);
  });

  it("reads a txn with a nested txn", () => {
    const res = decodeMessage(
      TxnResponseSchema,
      {
        header: { ...header, revision: "4" },
        succeeded: true,
        responses: [
          {
            response_range: {
              header: { revision: "3" },
              kvs: [
                {
                  key: "Zm9v",
                  create_revision: "2",
                  mod_revision: "3",
                  version: "2",
                  value: "YmF6",
                },
              ],
              count: "1",
            },
          },
          {
            response_txn: {
              header: {},
              succeeded: true,
              responses: [{ response_put: { header: { revision: "4" } } }],
            },
          },
        ],
      },
      source,
    );
    const [range, txn] = res.responses.map((r) => r.response);
    expect(range?.case === "responseRange" && dec(range.value.kvs[0]?.value)).toBe("baz");
    expect(range?.case === "responseRange" && range.value.header?.revision).toBe(3n);
    const nested = txn?.case === "responseTxn" ? txn.value : undefined;
    expect(nested?.succeeded).toBe(true);
    const put = nested?.responses[0]?.response;
    expect(put?.case === "responsePut" && put.value.header?.revision).toBe(4n);
  });

  it("reads the capitalised field names etcd's protos have", () => {
    const lease = decodeMessage(
      LeaseGrantResponseSchema,
      { header, ID: "2324035604496918796", TTL: "60" },
      source,
    );
    expect([lease.ID, lease.TTL]).toEqual([2324035604496918796n, 60n]);
    const members = decodeMessage(
      MemberListResponseSchema,
      {
        header,
        members: [
          {
            ID: "3319814642761637952",
            name: "s",
            peerURLs: ["http://127.0.0.1:23800"],
            clientURLs: ["http://127.0.0.1:23790"],
          },
        ],
      },
      source,
    );
    expect(members.members[0]).toMatchObject({
      ID: 3319814642761637952n,
      clientURLs: ["http://127.0.0.1:23790"],
    });
    const status = decodeMessage(
      StatusResponseSchema,
      {
        header,
        version: "3.4.23",
        dbSize: "20480",
        leader: "3319814642761637952",
        raftIndex: "11",
        raftTerm: "2",
        raftAppliedIndex: "11",
        dbSizeInUse: "16384",
      },
      source,
    );
    expect(status).toMatchObject({ version: "3.4.23", dbSize: 20480n, raftAppliedIndex: 11n });
  });

  it("ignores fields it does not know (a newer etcd)", () => {
    const res = decodeMessage(RangeResponseSchema, { header, count: "0", future: 1 }, source);
    expect(res.count).toBe(0n);
  });

  it.each([
    ["an array", []],
    ["null", null],
    ["a string", "ok"],
  ])("refuses %s as a ResponseError", (_, json) => {
    expect(() => decodeMessage(RangeResponseSchema, json as JsonValue, source)).toThrow(
      ResponseError,
    );
  });

  it("refuses a field of the wrong type as a ResponseError that says where from", () => {
    let caught: unknown;
    try {
      decodeMessage(RangeResponseSchema, { count: "many" }, source);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ResponseError);
    expect(caught).toMatchObject({
      kind: "response",
      status: 200,
      contentType: "application/json",
      endpoint: "http://etcd:2379",
    });
    expect((caught as Error).message).toContain("RangeResponse");
    expect((caught as Error).cause).toBeInstanceOf(Error);
  });
});

describe("parseJson", () => {
  it("refuses a body that is not JSON", () => {
    expect(() => parseJson("<html>", source)).toThrow(/not JSON: "<html>"/);
  });
});

describe("decodeStreamMessage", () => {
  it("reads watch events, with PUT left out as the default type", () => {
    const res = decodeStreamMessage(
      WatchResponseSchema,
      {
        result: {
          header: { ...header, revision: "8" },
          watch_id: "1",
          events: [
            {
              kv: {
                key: "Yg==",
                create_revision: "7",
                mod_revision: "7",
                version: "1",
                value: "Mg==",
              },
            },
            { type: "DELETE", kv: { key: "Yg==", mod_revision: "8" } },
          ],
        },
      },
      source,
    );
    expect(res.watchId).toBe(1n);
    expect(res.events.map((e) => e.type)).toEqual([Event_EventType.PUT, Event_EventType.DELETE]);
    expect(dec(res.events[0]?.kv?.value)).toBe("2");
  });

  it("reads a canceled watch with its compact revision and a negative id", () => {
    const res = decodeStreamMessage(
      WatchResponseSchema,
      { result: { header, watch_id: "-1", created: true, canceled: true, compact_revision: "3" } },
      source,
    );
    expect(res).toMatchObject({ watchId: -1n, canceled: true, compactRevision: 3n });
  });

  it.each<[string, JsonValue]>([
    [
      "a stream error (grpc-gateway v1)",
      {
        error: {
          grpc_code: 11,
          http_code: 400,
          message: "etcdserver: mvcc: required revision has been compacted",
          http_status: "Bad Request",
        },
      },
    ],
    [
      "a stream error (grpc-gateway v2)",
      {
        error: {
          code: 11,
          message: "etcdserver: mvcc: required revision has been compacted",
          details: [],
        },
      },
    ],
    [
      "an error before the first message",
      {
        error: "etcdserver: mvcc: required revision has been compacted",
        code: 11,
        message: "etcdserver: mvcc: required revision has been compacted",
      },
    ],
  ])("throws %s as a ConnectError with etcd's code and message", (_, json) => {
    let caught: unknown;
    try {
      decodeStreamMessage(WatchResponseSchema, json, source);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConnectError);
    expect(caught).toMatchObject({
      code: Code.OutOfRange,
      rawMessage: "etcdserver: mvcc: required revision has been compacted",
    });
  });

  it.each<[string, JsonValue]>([
    ["neither result nor error", { header }],
    ["an error without a code", { error: "boom" }],
    ["not an object", [1, 2]],
  ])("throws a ResponseError for %s", (_, json) => {
    expect(() => decodeStreamMessage(WatchResponseSchema, json, source)).toThrow(ResponseError);
  });
});
