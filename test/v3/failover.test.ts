import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterError, Etcd, EtcdError, type Protocol } from "../../src/node.js";
import { EtcdCluster } from "../harness/etcd.js";
import { eventually } from "../harness/wait.js";
import { protocolEndpoints } from "./protocols.js";

// One member of three is killed in the middle of a load of reads and writes.
describe.each(protocolEndpoints.names)("failover over %s", (protocol: Protocol) => {
  let etcd: EtcdCluster;
  let endpoints: string[];
  let stopProxy: () => Promise<void>;

  beforeAll(async () => {
    etcd = await EtcdCluster.start({ size: 3, corsOrigins: ["http://127.0.0.1:5173"] });
    const ep = await protocolEndpoints.start(protocol, etcd.endpoints);
    endpoints = ep.endpoints;
    stopProxy = ep.stop;
  });
  afterAll(async () => {
    await stopProxy?.();
    await etcd?.stop();
  });

  it("keeps reading, and loses or doubles no write, when the pinned member is killed", async () => {
    const client = new Etcd({ endpoints, protocol, health: { intervalMs: 300, timeoutMs: 500 } });
    try {
      await client.put("load/seed", "0");
      // Endpoint i is member i, or the bridge in front of it.
      const memberOf = (url: string) => etcd.member(endpoints.indexOf(url));
      let victim = memberOf(client.pinnedEndpoint);
      let writesBeforeKill = 0;

      const writes: Array<{ key: string; ok: boolean; error?: unknown }> = [];
      let reads = 0;
      const readErrors: unknown[] = [];
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; i < 60; i++) {
          const key = `load/${w}/${i}`;
          try {
            await client.put(key, String(i));
            writes.push({ key, ok: true });
          } catch (error) {
            writes.push({ key, ok: false, error });
          }
        }
      };
      const reader = async () => {
        while (!stop) {
          try {
            await client.get("load/seed");
            reads++;
          } catch (e) {
            readErrors.push(e);
          }
        }
      };
      const killer = async () => {
        await eventually(() => writes.length >= 60);
        // The member the client uses now: the one whose loss the client must ride out.
        victim = memberOf(client.pinnedEndpoint);
        writesBeforeKill = writes.length;
        await victim.kill();
      };
      const readers = [reader(), reader()];
      await Promise.all([writer(0), writer(1), writer(2), writer(3), killer()]);
      stop = true;
      await Promise.all(readers);

      expect(victim.running).toBe(false);
      expect(memberOf(client.pinnedEndpoint)).not.toBe(victim);
      // Writes went on after the kill, on another member.
      expect(writes.slice(writesBeforeKill + 8).filter((w) => w.ok).length).toBeGreaterThan(0);
      expect(readErrors).toEqual([]);
      expect(reads).toBeGreaterThan(0);
      expect(writes).toHaveLength(240);
      const failed = writes.filter((w) => !w.ok);
      for (const f of failed) expect(f.error).toBeInstanceOf(EtcdError);
      for (const f of failed) {
        if (f.error instanceof ClusterError && !f.error.maybeApplied) {
          // Never sent: must not be there.
          expect((await client.get(f.key)).first).toBeUndefined();
        }
      }
      const all = await client.get("load/", { prefix: true });
      const byKey = new Map(all.kvs.map((kv) => [kv.keyText, kv]));
      for (const w of writes.filter((w) => w.ok)) {
        const kv = byKey.get(w.key);
        expect(kv, `acknowledged write ${w.key} is missing`).toBeDefined();
        expect(kv?.version, `write ${w.key} applied more than once`).toBe(1n);
      }
      for (const kv of all.kvs) expect(kv.version).toBe(1n);

      await eventually(() => client.endpointStates().some((s) => s.health === "unhealthy"));
      const dead = client.endpointStates().find((s) => s.health === "unhealthy");
      expect(dead?.lastError).toBeInstanceOf(Error);
      await victim.restart();
      await eventually(() => client.endpointStates().every((s) => s.health === "healthy"));
    } finally {
      await client.close();
    }
  });
});
