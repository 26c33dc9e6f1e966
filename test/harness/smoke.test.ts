import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { KV } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "./etcd.js";

// The generated KV client over connect-node's gRPC transport, against a real 3-member cluster.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start({ size: 3 });
});
afterAll(() => etcd?.stop());

const kvAt = (url: string) => createClient(KV, createGrpcTransport({ baseUrl: url }));
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

it("puts through one member and reads back from another", async () => {
  const put = await kvAt(etcd.member(0).clientUrl).put({ key: enc("smoke"), value: enc("hello") });
  expect(put.header?.revision).toBeGreaterThan(1n);
  const got = await kvAt(etcd.member(1).clientUrl).range({ key: enc("smoke") });
  expect(got.kvs).toHaveLength(1);
  expect(dec(got.kvs[0]?.value)).toBe("hello");
  expect(got.kvs[0]?.modRevision).toBe(put.header?.revision);
});

it("writes through the remaining members after one is killed", async () => {
  await etcd.member(0).kill();
  await etcd.waitForLeader();
  const put = await kvAt(etcd.member(1).clientUrl).put({ key: enc("k"), value: enc("survives") });
  const got = await kvAt(etcd.member(2).clientUrl).range({ key: enc("k") });
  expect(dec(got.kvs[0]?.value)).toBe("survives");
  expect(got.header?.revision).toBe(put.header?.revision);
  await etcd.member(0).restart();
  const back = await kvAt(etcd.member(0).clientUrl).range({ key: enc("k") });
  expect(dec(back.kvs[0]?.value)).toBe("survives");
});
