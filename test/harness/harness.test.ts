import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdCluster } from "./etcd.js";

// The harness itself, checked through etcd's JSON gateway so it depends on nothing else here.
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function gatewayPut(url: string, key: string, value: string, timeoutMs = 3000) {
  const res = await fetch(`${url}/v3/kv/put`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`put ${res.status}: ${await res.text()}`);
}

async function gatewayGet(url: string, key: string, timeoutMs = 3000): Promise<string | undefined> {
  const res = await fetch(`${url}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { kvs?: Array<{ value: string }> };
  const v = body.kvs?.[0]?.value;
  return v === undefined ? undefined : Buffer.from(v, "base64").toString();
}

describe("single member", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start({ enableV2: true, corsOrigins: ["http://127.0.0.1:5173"] });
  });
  afterAll(() => etcd?.stop());

  it("serves v2 and CORS", async () => {
    const m = etcd.member(0);
    const res = await fetch(`${m.clientUrl}/v2/keys/harness`, {
      method: "PUT",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "http://127.0.0.1:5173",
      },
      body: "value=v2",
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
  });

  it("pauses and resumes a member", async () => {
    const m = etcd.member(0);
    m.pause();
    // A paused member accepts the connection and answers nothing: the request times out.
    await expect(gatewayPut(m.clientUrl, "p", "1", 500)).rejects.toMatchObject({
      name: "TimeoutError",
    });
    m.resume();
    await gatewayPut(m.clientUrl, "p", "2");
    expect(await gatewayGet(m.clientUrl, "p")).toBe("2");
  });

  it("restarts a member with its data", async () => {
    const m = etcd.member(0);
    await gatewayPut(m.clientUrl, "kept", "yes");
    const pid = m.pid;
    await m.restart();
    expect(m.pid).not.toBe(pid);
    expect(await gatewayGet(m.clientUrl, "kept")).toBe("yes");
  });
});

describe("three members", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await EtcdCluster.start({ size: 3 });
  });
  afterAll(() => etcd?.stop());

  it("keeps accepting writes with one member killed, and takes it back", async () => {
    await etcd.member(2).kill();
    expect(etcd.member(2).running).toBe(false);
    await etcd.waitForLeader();
    // A killed member refuses the connection.
    await expect(gatewayGet(etcd.member(2).clientUrl, "x", 500)).rejects.toMatchObject({
      cause: { code: "ECONNREFUSED" },
    });
    await gatewayPut(etcd.member(0).clientUrl, "after-kill", "ok");
    expect(await gatewayGet(etcd.member(1).clientUrl, "after-kill")).toBe("ok");
    await etcd.member(2).restart();
    expect(await gatewayGet(etcd.member(2).clientUrl, "after-kill")).toBe("ok");
  });

  it("stops a member gracefully", async () => {
    await etcd.member(1).stop();
    expect(etcd.member(1).running).toBe(false);
    await etcd.waitForLeader();
    await gatewayPut(etcd.member(0).clientUrl, "after-stop", "ok");
    await etcd.member(1).restart();
    expect(await gatewayGet(etcd.member(1).clientUrl, "after-stop")).toBe("ok");
  });
});
