import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AlarmRequest_AlarmAction,
  AlarmRequestSchema,
  PutRequestSchema,
  RangeRequestSchema,
} from "../gen/etcdserverpb/rpc_pb.js";
import { bridgedMethods, etcdServices } from "./etcd-methods.js";

const methods = bridgedMethods();
const byPath = (path: string) => {
  const m = methods.find((x) => x.path === path);
  if (!m) throw new Error(`no ${path}`);
  return m;
};

describe("bridgedMethods", () => {
  it("covers every method of the six etcd services", () => {
    expect(etcdServices.map((s) => s.typeName)).toEqual([
      "etcdserverpb.KV",
      "etcdserverpb.Watch",
      "etcdserverpb.Lease",
      "etcdserverpb.Cluster",
      "etcdserverpb.Maintenance",
      "etcdserverpb.Auth",
    ]);
    const total = etcdServices.reduce((n, s) => n + s.methods.length, 0);
    expect(methods).toHaveLength(total);
    expect(byPath("/etcdserverpb.Maintenance/Snapshot").served.methodKind).toBe("server_streaming");
  });

  it("serves the bidi methods as server-streaming on the same path, and nothing browsers cannot call", () => {
    for (const path of ["/etcdserverpb.Watch/Watch", "/etcdserverpb.Lease/LeaseKeepAlive"]) {
      const m = byPath(path);
      expect(m.upstream.methodKind).toBe("bidi_streaming");
      expect(m.served.methodKind).toBe("server_streaming");
      expect(`/${m.served.parent.typeName}/${m.served.name}`).toBe(path);
      expect(m.served.input).toBe(m.upstream.input);
    }
    const kinds = new Set(methods.map((m) => m.served.methodKind));
    expect([...kinds].sort()).toEqual(["server_streaming", "unary"]);
  });

  it("repeats reads and streams, not writes", () => {
    expect(byPath("/etcdserverpb.KV/Range").repeatable(create(RangeRequestSchema))).toBe(true);
    expect(byPath("/etcdserverpb.KV/Put").repeatable(create(PutRequestSchema))).toBe(false);
    expect(byPath("/etcdserverpb.KV/Txn").repeatable(create(PutRequestSchema))).toBe(false);
    expect(byPath("/etcdserverpb.Watch/Watch").repeatable(create(RangeRequestSchema))).toBe(true);
    const alarm = byPath("/etcdserverpb.Maintenance/Alarm");
    const action = (a: AlarmRequest_AlarmAction) => create(AlarmRequestSchema, { action: a });
    expect(alarm.repeatable(action(AlarmRequest_AlarmAction.GET))).toBe(true);
    expect(alarm.repeatable(action(AlarmRequest_AlarmAction.DEACTIVATE))).toBe(false);
  });
});
